/**
 * The Talk console's state: the calls ringing for me and the call I am on, followed live through
 * the workspace's event stream (`calls`, `call` on `GET /api/v1/stream`), and the commands on
 * them. Components only show this and call its methods.
 */
import type { TransferTarget } from '$lib/api/schemas';
import type { CallView as Call } from '$lib/api/talk';

/** How often the live duration moves on. */
const TICK_MS = 1000;

export class TalkConsole {
	/** Calls that concern me now: ringing for me, or mine and not ended. Oldest first. */
	calls = $state.raw<Call[]>([]);
	/** The clock the durations are shown against. */
	now = $state(Date.now());
	/** The last command's refusal, in words (e.g. "this call was answered by Blake Agent"). */
	error = $state<string | null>(null);
	/** A command is on its way. */
	pending = $state(false);
	/** Whether the stream is connected, so the console rings. */
	connected = $state(false);

	/** The newest version seen of each call, also of calls no longer listed (ended or taken by others). */
	private readonly versions = new Map<string, number>();
	private stream: EventSource | null = null; // the workspace's: not closed here
	private timer: ReturnType<typeof setInterval> | null = null;

	constructor(private readonly me: { id: string }) {}

	/** Calls ringing for me. */
	get ringing(): Call[] {
		return this.calls.filter((call) => call.state === 'ringing' && call.ringsMe);
	}

	/** The call I am on (dialling, talking or holding), if any. */
	get current(): Call | null {
		return this.calls.find((call) => call.agentId === this.me.id && call.state !== 'ringing' && call.state !== 'ended') ?? null;
	}

	/** Follows the workspace's event stream (`calls` then `call` events; see /api/v1/stream). */
	start(stream: EventSource) {
		this.stream = stream;
		this.stream.addEventListener('open', () => (this.connected = true));
		this.stream.addEventListener('error', () => (this.connected = false));
		// Sent first on every (re)connection: what is live for me right now.
		this.stream.addEventListener('calls', (event) => {
			const { calls } = JSON.parse((event as MessageEvent).data) as { calls: Call[] };
			for (const call of calls) this.versions.set(call.id, call.version);
			this.calls = calls;
		});
		this.stream.addEventListener('call', (event) => this.update(JSON.parse((event as MessageEvent).data) as Call));
		this.timer = setInterval(() => (this.now = Date.now()), TICK_MS);
	}

	stop() {
		if (this.timer) clearInterval(this.timer);
	}

	/** Seconds the call has lasted: since it was answered (or since dialling started). */
	elapsed(call: Call): number {
		return Math.max(0, Math.floor((this.now - (call.answeredAt ?? call.createdAt)) / 1000));
	}

	accept(callId: string) {
		return this.command(`/api/v1/talk/calls/${encodeURIComponent(callId)}/accept`);
	}

	decline(callId: string) {
		return this.command(`/api/v1/talk/calls/${encodeURIComponent(callId)}/decline`);
	}

	hold(callId: string) {
		return this.command(`/api/v1/talk/calls/${encodeURIComponent(callId)}/hold`);
	}

	resume(callId: string) {
		return this.command(`/api/v1/talk/calls/${encodeURIComponent(callId)}/resume`);
	}

	end(callId: string) {
		return this.command(`/api/v1/talk/calls/${encodeURIComponent(callId)}/end`);
	}

	transfer(callId: string, target: TransferTarget) {
		return this.command(`/api/v1/talk/calls/${encodeURIComponent(callId)}/transfer`, target);
	}

	/** Calls the requester of a ticket. */
	dial(ticketId: string) {
		return this.command('/api/v1/talk/calls', { ticketId });
	}

	/** Keeps `call` if it concerns me, replacing what was known of it unless that is newer. */
	private update(call: Call) {
		if ((this.versions.get(call.id) ?? -1) > call.version) return;
		this.versions.set(call.id, call.version);
		const others = this.calls.filter((c) => c.id !== call.id);
		const concernsMe = call.state !== 'ended' && (call.agentId === this.me.id || (call.state === 'ringing' && call.ringsMe));
		this.calls = concernsMe ? [...others, call].sort((a, b) => a.createdAt - b.createdAt) : others;
	}

	/** POSTs a command; resolves with the call as it is now, or null (and `error` set) when refused. */
	private async command(url: string, body?: unknown): Promise<Call | null> {
		this.pending = true;
		this.error = null;
		try {
			const response = await fetch(url, {
				method: 'POST',
				headers: { accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
				body: body === undefined ? undefined : JSON.stringify(body)
			});
			const answer = await response.json().catch(() => null);
			if (!response.ok) {
				this.error = answer?.error?.message ?? `the call could not be changed (${response.status})`;
				return null;
			}
			this.update(answer as Call);
			return answer as Call;
		} catch {
			this.error = 'Tandem could not be reached: try again';
			return null;
		} finally {
			this.pending = false;
		}
	}
}
