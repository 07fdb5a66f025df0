/**
 * Sends JSON to the API and answers the parsed body. A refusal becomes an Error with the server's
 * message in words; a server out of reach, an Error saying so.
 */
export async function sendJson<T>(method: string, url: string, body?: unknown): Promise<T> {
	const response = await fetch(url, {
		method,
		headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
		body: body === undefined ? undefined : JSON.stringify(body)
	}).catch(() => {
		throw new Error('The server could not be reached: you seem to be offline. Try again.');
	});
	const parsed = await response.json().catch(() => null);
	if (!response.ok) throw new Error(parsed?.error?.message ?? `${method} ${url}: ${response.status}`);
	return parsed as T;
}
