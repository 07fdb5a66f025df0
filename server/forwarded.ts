/**
 * Who a request came from and how it reached us: the client's address, and the scheme and host it
 * used. Read from the socket and the Host header, or from `X-Forwarded-For/-Proto/-Host` only when
 * proxies are trusted (TRUST_PROXY): otherwise any client could claim https, another host or another
 * address. The result is written into headers of our own on the request, replacing whatever a
 * client sent under those names, so the SvelteKit handler (adapter-node's PROTOCOL_HEADER,
 * HOST_HEADER, ADDRESS_HEADER) and the websocket origin check read the same answer.
 */
import type http from 'node:http';

export const RESOLVED = {
	proto: 'x-tandem-proto',
	host: 'x-tandem-host',
	address: 'x-tandem-client-address'
} as const;

/** Sets RESOLVED headers on `req`. `trustedProxies`: how many proxies in front append to X-Forwarded-For. */
export function resolveForwarded(req: http.IncomingMessage, trustedProxies: number): void {
	const headers = req.headers;
	const socketAddress = req.socket.remoteAddress ?? '';
	let proto = 'http'; // this server speaks plain http; TLS ends at a proxy, if any
	let host = headers.host;
	let address = socketAddress;
	if (trustedProxies > 0) {
		// Each proxy appends the address it received from: the one `trustedProxies` from the end
		// (counting the socket's) is what the outermost trusted proxy saw, whatever a client prepended.
		const hops = [...listed(headers['x-forwarded-for']), socketAddress];
		address = hops[Math.max(0, hops.length - 1 - trustedProxies)];
		// Set (not appended) by the proxy nearest to us: its value is the last one.
		const forwardedProto = listed(headers['x-forwarded-proto']).at(-1)?.toLowerCase();
		if (forwardedProto === 'https' || forwardedProto === 'http') proto = forwardedProto;
		host = listed(headers['x-forwarded-host']).at(-1) ?? host;
	}
	headers[RESOLVED.proto] = proto;
	headers[RESOLVED.address] = address;
	if (host) headers[RESOLVED.host] = host;
	else delete headers[RESOLVED.host];
}

function listed(header: string | string[] | undefined): string[] {
	const values = Array.isArray(header) ? header : header ? [header] : [];
	return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

/**
 * The workspace's origin as this request should see it: ORIGIN when set, else the scheme and host
 * the request was resolved to (plain http and its Host header when no header says otherwise).
 */
export function workspaceOrigin(headers: Headers, configured: string | null): string | null {
	if (configured) return configured;
	const host = headers.get(RESOLVED.host) ?? headers.get('host');
	return host ? `${headers.get(RESOLVED.proto) ?? 'http'}://${host}` : null;
}
