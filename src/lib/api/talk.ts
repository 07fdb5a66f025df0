/** Phone calls as the Talk API and the console show them (server/talk/calls.ts): shared by server and UI. */

export type CallState = 'dialing' | 'ringing' | 'active' | 'held' | 'ended';
export type CallOutcome = 'answered' | 'missed' | 'no-answer';

/** A transfer of a call, as stored and as shown in the call entry's meta. */
export interface CallTransfer {
	from: string | null;
	to: string;
	toType: 'agent' | 'group';
	at: number;
}

/** A call as the API and the console show it to one user. */
export interface CallView {
	id: string;
	ticketId: string;
	direction: 'in' | 'out';
	from: string;
	to: string;
	state: CallState;
	agentId: string | null;
	customer: { id: string; name: string };
	/** Our number that was called (in) or called from (out). */
	number: { number: string; label: string } | null;
	/** Whether it rings for the user it is shown to: they may accept it now. */
	ringsMe: boolean;
	ringTo: string[] | null;
	transfers: CallTransfer[];
	holdSeconds: number;
	heldSince: number | null;
	createdAt: number;
	answeredAt: number | null;
	endedAt: number | null;
	outcome: CallOutcome | null;
	endReason: string | null;
	/** Goes up with every change: of two views of a call, the higher is the newer. */
	version: number;
}
