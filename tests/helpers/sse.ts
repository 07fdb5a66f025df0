/** A Server-Sent Events client for tests: collects every event of a stream until closed. */
export interface EventLog {
	events: { event: string; data: any }[];
	status: number;
	close(): void;
}

export async function openEventStream(url: string, headers: Record<string, string> = {}): Promise<EventLog> {
	const controller = new AbortController();
	const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
	const log: EventLog = { events: [], status: response.status, close: () => controller.abort() };
	if (!response.ok || !response.body) return log;
	void (async () => {
		const decoder = new TextDecoder();
		let buffer = '';
		try {
			for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
				buffer += decoder.decode(chunk, { stream: true });
				let end: number;
				while ((end = buffer.indexOf('\n\n')) >= 0) {
					const block = buffer.slice(0, end);
					buffer = buffer.slice(end + 2);
					const event = /^event: (.*)$/m.exec(block)?.[1];
					const data = /^data: (.*)$/m.exec(block)?.[1];
					if (event && data !== undefined) log.events.push({ event, data: JSON.parse(data) });
				}
			}
		} catch {
			/* aborted */
		}
	})();
	return log;
}
