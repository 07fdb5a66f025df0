/**
 * Loopback ports for the servers started on this machine (`npm run cluster`, the test harness):
 * free ones, whether one accepts, and waiting for a condition with a deadline rather than a sleep.
 */
import net from 'node:net';

export function freePort(): Promise<number> {
	return freePorts(1).then(([port]) => port!);
}

/** `count` distinct free ports: each probe stays open until all are taken, so none is handed out twice. */
export async function freePorts(count: number): Promise<number[]> {
	const probes: net.Server[] = [];
	try {
		const ports: number[] = [];
		while (ports.length < count) {
			const probe = net.createServer();
			probes.push(probe);
			await new Promise<void>((resolve, reject) => {
				probe.once('error', reject);
				probe.listen(0, '127.0.0.1', resolve);
			});
			ports.push((probe.address() as net.AddressInfo).port);
		}
		return ports;
	} finally {
		await Promise.all(probes.map((probe) => new Promise((resolve) => probe.close(resolve))));
	}
}

/** Whether `port` on 127.0.0.1 is free to listen on. */
export function isFree(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const probe = net.createServer();
		probe.once('error', () => resolve(false));
		probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
	});
}

export const accepts = (port: number) =>
	new Promise<boolean>((resolve) => {
		const socket = net.connect(port, '127.0.0.1');
		socket.once('connect', () => (socket.destroy(), resolve(true)));
		socket.once('error', () => resolve(false));
	});

/** Polls `check` until it returns a truthy value, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	for (;;) {
		try {
			const value = await check();
			if (value) return value as NonNullable<T>;
		} catch (error) {
			last = error;
		}
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
		await new Promise((r) => setTimeout(r, 10));
	}
}
