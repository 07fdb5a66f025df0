import { describe, expect, it } from 'vitest';
import { macroInputSchema } from '../../src/lib/api/schemas';
import { fillPlaceholders, unknownPlaceholders } from '../../src/lib/macro-placeholders';

const values = { ticket: { number: 1042, subject: 'Charged twice' }, requester: { name: 'Maria  Lopez ' }, agent: { name: 'Alex Agent' } };

describe('macro placeholders', () => {
	it('fills in the ticket, the requester and the agent, spaces inside the braces allowed', () => {
		expect(fillPlaceholders('Hi {{requester.first_name}}, about #{{ ticket.number }} ({{ticket.subject}}). {{agent.first_name}} / {{agent.name}} for {{requester.name}}', values)).toBe(
			'Hi Maria, about #1042 (Charged twice). Alex / Alex Agent for Maria  Lopez'
		);
	});

	it('fills what is not known with nothing, and leaves what is not a placeholder as written', () => {
		expect(fillPlaceholders('Hi {{requester.first_name}}{{ticket.number}} {{nope}} {single}', { ...values, ticket: { number: null, subject: '' }, requester: { name: null } })).toBe('Hi  {{nope}} {single}');
	});

	it('names the unknown ones, once each, as written', () => {
		expect(unknownPlaceholders('{{ticket.numbr}} {{ticket.number}} {{ ticket.numbr }} {{ticket.numbr}} {{__proto__}}')).toEqual(['{{ticket.numbr}}', '{{ ticket.numbr }}', '{{__proto__}}']);
		expect(unknownPlaceholders('no placeholders, {{ not one }} with spaces inside a name')).toEqual([]);
	});

	it('is checked where a macro is saved: an unknown placeholder is refused naming it and the known ones', () => {
		const refused = macroInputSchema.safeParse({ title: 'Typo', body: 'Hi {{customer.name}}' });
		expect(refused.success).toBe(false);
		expect(refused.error!.issues[0]!.message).toContain('{{customer.name}} is not a placeholder: use {{ticket.number}}');
		expect(refused.error!.issues[0]!.path).toEqual(['body']);
		expect(macroInputSchema.safeParse({ title: 'Fine', body: 'Hi {{requester.first_name}}' }).success).toBe(true);
	});
});
