/**
 * A TCP proxy in front of PostgreSQL that can lose one commit's answer: armed with a marker, it
 * passes the COMMIT of the next transaction that sent the marker (a table's name) on to the
 * database, then cuts both connections when the answer comes back, before the client reads it.
 * The transaction is committed; the client only knows its connection broke.
 */
import net from 'node:net';

export interface CuttingProxy {
	port: number;
	/** Loses the answer to the COMMIT of the next transaction that sends `marker`. */
	arm(marker: string): void;
	/** How many answers were lost so far. */
	readonly cuts: number;
	close(): Promise<void>;
}

export async function startCuttingProxy(target: { host: string; port: number }): Promise<CuttingProxy> {
	let armed: string | null = null;
	let cuts = 0;
	const sockets = new Set<net.Socket>();
	const server = net.createServer((client) => {
		const upstream = net.connect(target.port, target.host);
		for (const socket of [client, upstream]) {
			sockets.add(socket);
			socket.on('close', () => sockets.delete(socket));
		}
		let marked = false;
		let cutAtAnswer = false;
		client.on('data', (chunk: Buffer) => {
			const text = chunk.toString('latin1').toLowerCase();
			if (armed && text.includes(armed)) marked = true;
			// Each query is answered before the next is sent: the next bytes back answer this one.
			if (marked && text.includes('commit')) {
				armed = null;
				marked = false;
				cutAtAnswer = true;
			}
			upstream.write(chunk);
		});
		upstream.on('data', (chunk: Buffer) => {
			if (!cutAtAnswer) return void client.write(chunk);
			cuts++;
			client.destroy();
			upstream.destroy();
		});
		client.on('error', () => upstream.destroy());
		upstream.on('error', () => client.destroy());
		client.on('close', () => upstream.destroy());
		upstream.on('close', () => client.destroy());
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		port: (server.address() as net.AddressInfo).port,
		arm: (marker) => void (armed = marker.toLowerCase()),
		get cuts() {
			return cuts;
		},
		close: async () => {
			for (const socket of sockets) socket.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}
