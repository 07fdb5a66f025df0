/**
 * The @mention autocomplete of a text box (the composer in internal note mode, the message box of an
 * internal side conversation): typing `@` and a few letters lists the colleagues who may see the
 * ticket; the chosen one goes into the text as `@Name`, and is remembered so that the entry sent
 * lists them in `meta.mentions` (a name two colleagues share then means the one picked).
 */
import { ticketAccess, type TicketScope } from '../../../server/auth/policy';
import type { Role } from '../../../server/auth/principal';
import { mentionedIn } from '$lib/ticket';
import type { Person } from './workspace.svelte';

/** Names the list shows at once. */
const SHOWN = 8;
/** An `@` at the start of a word, then what is typed of a name (no spaces), right before the caret. */
const TYPED = /(?:^|[^\p{L}\p{N}_@])@([^\s@]{0,30})$/u;

/** The colleagues who may see a ticket as `scope` says it stands (the server's own rule), by name. */
export function colleaguesWhoMaySee(people: readonly Person[], me: { id: string }, scope: TicketScope | null | undefined): Person[] {
	if (!scope) return [];
	return people.filter((p) => !p.disabled && p.id !== me.id && ticketAccess({ kind: 'user', ...p, role: p.role as Role }, scope));
}

export class MentionPicker {
	/** Whether the list is shown. */
	open = $state(false);
	/** What is typed after the `@`. */
	query = $state('');
	active = $state(0);
	/** Where the `@` is in the text: the choice replaces from there to the caret. */
	from = 0;
	/** The ids chosen from the list since the text was last sent. */
	private readonly picked = new Set<string>();

	constructor(private readonly candidates: () => readonly Person[]) {}

	/** The colleagues whose name (or a word of it) or address starts with what is typed. */
	get matches(): Person[] {
		const query = this.query.toLowerCase();
		return this.candidates()
			.filter((p) => !query || p.name.toLowerCase().split(/\s+/).concat(p.name.toLowerCase(), p.email.toLowerCase()).some((word) => word.startsWith(query)))
			.slice(0, SHOWN);
	}

	/** Follows the text before the caret (`caret` is its length): opens, narrows or closes the list. */
	follow(before: string) {
		const typed = TYPED.exec(before);
		if (!typed) return this.close();
		this.from = before.length - typed[1]!.length - 1;
		if (this.query !== typed[1] || !this.open) this.active = 0;
		this.query = typed[1]!;
		this.open = this.candidates().length > 0;
	}

	move(delta: number) {
		const n = this.matches.length;
		if (n) this.active = (this.active + delta + n) % n;
	}

	/** The text that takes the place of `@query`, for the active colleague or `person`; null when there is none. */
	choose(person = this.matches[this.active]): string | null {
		if (!person) return null;
		this.picked.add(person.id);
		this.close();
		return `@${person.name} `;
	}

	close() {
		this.open = false;
		this.query = '';
	}

	/** The colleagues `text` mentions (see mentionedIn), for `meta.mentions` of the entry it becomes. */
	mentionsIn(text: string): string[] {
		return mentionedIn(text, this.candidates(), this.picked);
	}

	/** After sending: what was picked was for that text. */
	reset() {
		this.picked.clear();
		this.close();
	}
}
