/**
 * Placeholders in a macro's body, filled in when an agent applies it: `{{ticket.number}}`,
 * `{{requester.first_name}}` and the like. The admin form and the API refuse a body naming one
 * that does not exist, so a typo shows when the macro is saved, not in a customer's inbox.
 */

export const MACRO_PLACEHOLDERS = {
	'ticket.number': 'the ticket’s number (1042)',
	'ticket.subject': 'the ticket’s subject',
	'requester.name': 'the customer’s name',
	'requester.first_name': 'the customer’s first name',
	'agent.name': 'your name',
	'agent.first_name': 'your first name'
} as const;
export type MacroPlaceholder = keyof typeof MACRO_PLACEHOLDERS;

/** What the placeholders stand for where the macro is applied (null: not known, filled in empty). */
export interface PlaceholderValues {
	ticket: { number: number | null; subject: string };
	requester: { name: string | null };
	agent: { name: string };
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_.]+)\s*\}\}/g;

const isPlaceholder = (name: string): name is MacroPlaceholder => Object.hasOwn(MACRO_PLACEHOLDERS, name);

/** The placeholders `body` names that do not exist, each once, as written. */
export function unknownPlaceholders(body: string): string[] {
	return [...new Set([...body.matchAll(PLACEHOLDER)].filter((m) => !isPlaceholder(m[1]!)).map((m) => m[0]))];
}

const firstName = (name: string | null) => name?.trim().split(/\s+/)[0] ?? '';

/** `body` with its placeholders filled in; an unknown one is left as it is written. */
export function fillPlaceholders(body: string, values: PlaceholderValues): string {
	const filled: Record<MacroPlaceholder, string> = {
		'ticket.number': values.ticket.number === null ? '' : String(values.ticket.number),
		'ticket.subject': values.ticket.subject,
		'requester.name': values.requester.name?.trim() ?? '',
		'requester.first_name': firstName(values.requester.name),
		'agent.name': values.agent.name,
		'agent.first_name': firstName(values.agent.name)
	};
	return body.replace(PLACEHOLDER, (whole, name: string) => (isPlaceholder(name) ? filled[name] : whole));
}
