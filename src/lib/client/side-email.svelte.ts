/**
 * Email side conversations in the workspace: the addresses an agent types, checked by the update
 * checker's own rules (emailParticipantSchema, at most LIMITS.participantsPerSide) so a refusal is
 * told in words before the server would close the connection, and recipients added later.
 */
import { emailParticipantSchema, LIMITS, type SideConversation } from '$lib/ticket';
import type { TicketSession } from './ticket-session.svelte';

/** The addresses in `text` (separated by commas, semicolons or lines), each once; or why not. */
export function parseAddresses(text: string, already: readonly string[] = []): { addresses: string[] } | { error: string } {
	const known = new Set(already.map((a) => a.toLowerCase()));
	const addresses = [...new Set(text.split(/[,;\n]/).map((a) => a.trim()).filter(Boolean))].filter((a) => !known.has(a.toLowerCase()));
	const bad = addresses.find((a) => !emailParticipantSchema.safeParse(a).success);
	if (bad !== undefined) return { error: `“${bad}” is not an email address.` };
	if (already.length + addresses.length > LIMITS.participantsPerSide) {
		return { error: `A side conversation has at most ${LIMITS.participantsPerSide} participants.` };
	}
	return { addresses };
}

/** The "add recipients" field of one email side conversation. */
export class AddRecipientsState {
	text = $state('');
	error = $state<string | null>(null);

	constructor(
		private readonly session: TicketSession,
		private readonly side: () => SideConversation
	) {}

	/** Adds the typed addresses not yet participants; returns whether it did. */
	add(): boolean {
		const parsed = parseAddresses(this.text, this.side().participants);
		if ('error' in parsed) {
			this.error = parsed.error;
			return false;
		}
		if (!parsed.addresses.length) {
			this.error = this.text.trim() ? 'They are participants already.' : 'Type an email address.';
			return false;
		}
		this.session.addSideParticipants(this.side().id, parsed.addresses);
		this.text = '';
		this.error = null;
		return true;
	}
}
