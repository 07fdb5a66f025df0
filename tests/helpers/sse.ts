/** A Server-Sent Events client for tests: opens a stream and collects its named events in the background. */
export interface EventLog {
	status: number;
	contentType: string | null;
	/** `event: <name>` messages with their parsed `data`, in order. */
	events: { name: string; data: any }[];
	/** Set when the connection broke (e.g. the server was killed), rather than being closed here. */
	error: Error | null;
	/** Set when the server ended the stream. */
	ended: boolean;
	close(): void;
}

/** `credentials`: a bearer token, or headers to send (none: the URL carries what it needs). */
export async function openEvents(url: string, credentials: string | Record<string, string> = {}): Promise<EventLog> {
	const controller = new AbortController();
	const headers = typeof credentials === 'string' ? { authorization: `Bearer ${credentials}` } : credentials;
	const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
	const log: EventLog = { status: res.status, contentType: res.headers.get('content-type'), events: [], error: null, ended: false, close: () => controller.abort() };
	if (!res.ok || !res.body) return log;
	const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
	void (async () => {
		let buffer = '';
		try {
			for (;;) {
				const { done, value } = await reader.read();
				if (done) {
					log.ended = true;
					return;
				}
				buffer += value;
				for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
					const lines = buffer.slice(0, end).split('\n');
					buffer = buffer.slice(end + 2);
					const name = lines.find((l) => l.startsWith('event: '))?.slice(7);
					const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
					if (name && data !== undefined) log.events.push({ name, data: JSON.parse(data) });
				}
			}
		} catch (error) {
			if (!controller.signal.aborted) log.error = error as Error;
		}
	})();
	return log;
}
