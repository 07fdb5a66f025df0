/**
 * Page requests as a browser sends them, for form actions: HTML accepted, the session cookie, and
 * for a POST the server's own Origin (SvelteKit's CSRF check) and an urlencoded form.
 */
export async function sendPage(server: { url: string }, method: 'GET' | 'POST', route: string, session: string, form?: Record<string, string>) {
	const headers: Record<string, string> = { accept: 'text/html', cookie: `tandem_session=${session}` };
	let body: URLSearchParams | undefined;
	if (form) {
		body = new URLSearchParams(form);
		headers['content-type'] = 'application/x-www-form-urlencoded';
	}
	if (method === 'POST') headers.origin = server.url;
	const response = await fetch(server.url + route, { method, headers, body, redirect: 'manual' });
	return { status: response.status, text: await response.text() };
}
