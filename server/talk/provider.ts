/**
 * The telephony provider interface: what Tandem needs from a carrier (Twilio, Vonage, a SIP
 * gateway…) and what a carrier tells Tandem. The Calls service (calls.ts) owns the state of every
 * call; a provider only carries audio and reports what happened on the phone network.
 *
 * Calls are named by the carrier's reference (`ref`): Tandem keeps its own call id beside it, so a
 * carrier that reports the same incoming call twice creates one call.
 */

/** A call as the Calls service stored it, in answer to a carrier's event. */
export interface StoredCall {
	id: string;
	ticketId: string;
	state: string;
}

/** What a carrier reports; each resolves once the Calls service has stored the change. */
export interface CarrierEvents {
	/** A caller dialled one of our Talk numbers: it rings agents until one accepts. */
	incoming(call: { ref: string; from: string; to: string; callerName?: string }): Promise<StoredCall>;
	/** The customer picked up an outbound call. */
	answered(ref: string): Promise<void>;
	/** The customer hung up (before or after it was answered). */
	hungUp(ref: string): Promise<StoredCall>;
}

/** Commands Tandem sends to the carrier. Each resolves once the carrier accepted it. */
export interface TalkProvider {
	readonly name: string;
	/** Called once by the Calls service, before any command, with where to report events. */
	connect(events: CarrierEvents): void;
	/** Bridges an agent to a ringing incoming call (or to a transferred one). */
	accept(ref: string, agentId: string): Promise<void>;
	/** Dials `to` from our number `from`; resolves with the carrier's reference of the new call. */
	place(call: { from: string; to: string }): Promise<string>;
	/** Puts the customer on hold (music), and takes them off it. */
	hold(ref: string): Promise<void>;
	resume(ref: string): Promise<void>;
	/** Parks the customer while the call rings someone else (they hear hold music). */
	transfer(ref: string): Promise<void>;
	/** Hangs up (also refuses a ringing call). */
	end(ref: string): Promise<void>;
}
