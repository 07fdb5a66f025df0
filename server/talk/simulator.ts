/**
 * The built-in simulator provider: a pretend carrier in the server process, for demos and tests.
 * It carries no audio. A caller is made to ring a Talk number with `ring()` (the API's
 * `POST /talk/simulator/calls`, the CLI's `talk call`), and hangs up with `hangUp()`.
 *
 * Deterministic by design: the simulated customer answers an outbound call at once (on the next
 * turn of the event loop, once the Calls service has stored the dialling call) and never hangs
 * up on their own, so a test needs no timers or sleeps.
 */
import { newId } from '../../src/lib/ticket';
import type { CarrierEvents, StoredCall, TalkProvider } from './provider';

export class SimulatorProvider implements TalkProvider {
	readonly name = 'simulator';
	private events: CarrierEvents | null = null;

	connect(events: CarrierEvents): void {
		this.events = events;
	}

	private get carrier(): CarrierEvents {
		if (!this.events) throw new Error('the simulator is not connected to the Calls service');
		return this.events;
	}

	/** A caller at `from` dials our number `to`; resolves with what the Calls service made of it. */
	ring(call: { from: string; to: string; callerName?: string }): Promise<StoredCall> {
		return this.carrier.incoming({ ref: `sim-${newId()}`, ...call });
	}

	/** The customer on call `ref` hangs up. */
	hangUp(ref: string): Promise<StoredCall> {
		return this.carrier.hungUp(ref);
	}

	async accept(): Promise<void> {}

	async place(): Promise<string> {
		const ref = `sim-${newId()}`;
		// setImmediate runs after the Calls service's continuation has stored the call under `ref`.
		setImmediate(() => void this.carrier.answered(ref).catch(() => {}));
		return ref;
	}

	async hold(): Promise<void> {}
	async resume(): Promise<void> {}
	async transfer(): Promise<void> {}
	async end(): Promise<void> {}
}
