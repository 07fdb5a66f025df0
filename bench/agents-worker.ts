/**
 * A worker thread hosting agents for the many-connections scenario (WorkerObservers in
 * load.ts): opens its share of agent providers, then, between 'start' and 'end', records for
 * every entry arriving in their documents arrival − createdAt (ms), handed over on 'collect'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LocalObservers, paced, Peer } from './load';

const port = parentPort!;
const { agents, perSecond, openWithinMs } = workerData as { agents: { wsUrl: string; docName: string; token: string | null }[]; perSecond: number; openWithinMs: number | null };
const observers = new LocalObservers();

try {
	const deadline = openWithinMs === null ? null : performance.now() + openWithinMs;
	await paced(agents, perSecond, 256, (a) => observers.open(a.docName, () => Peer.open(a.wsUrl, a.docName, a.token, { timeoutMs: 60_000 }), deadline));
	port.on('message', async (message: { type: string }) => {
		switch (message.type) {
			case 'start':
				await observers.start();
				port.postMessage({ type: 'started' });
				break;
			case 'collect':
				port.postMessage({ type: 'collected', ...(await observers.collect()) });
				break;
			case 'end':
				await observers.end();
				port.postMessage({ type: 'ended' });
				break;
			case 'close':
				await observers.close();
				port.postMessage({ type: 'closed' });
				break;
		}
	});
	port.postMessage({ type: 'ready', refused: observers.refused });
} catch (error) {
	await observers.close();
	port.postMessage({ type: 'error', message: (error as Error).message });
}
