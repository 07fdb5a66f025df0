/**
 * The demo's rules: a trigger that routes a VIP's email (from Maggie Chen's studio, a demo
 * customer) to Billing, one that reopens a pending ticket when the customer writes, and two
 * automations, switched off so the demo's history stays as written until an admin turns them on
 * (they then remind the pending and close the long-solved demo tickets). Billing keeps office
 * hours. A new email from Maggie's colleague Leo (not from Maggie: her calls and chats find her
 * own tickets) is the ticket the VIP trigger is seen acting on.
 */
import { officeHours } from '../../src/lib/business-hours';
import type { NewRule } from '../../src/lib/api/rules';
import { SYSTEM } from '../auth/principal';
import type { Services } from '../services';

export const VIP_ORGANISATION = 'Chen Design Studio';

export async function seedRules({ rules, tickets, accounts, customers }: Pick<Services, 'rules' | 'tickets' | 'accounts' | 'customers'>): Promise<void> {
	const billing = (await accounts.listGroups()).find((g) => g.name === 'Billing')!.id;
	const demo: NewRule[] = [
		{
			kind: 'trigger',
			name: 'VIP email to Billing',
			active: true,
			stopHere: false,
			conditions: {
				all: [
					{ field: 'event', operator: 'is', value: 'created' },
					{ field: 'channel', operator: 'is', value: 'email' },
					{ field: 'organisation', operator: 'is', value: VIP_ORGANISATION }
				],
				any: []
			},
			actions: [
				{ type: 'setGroup', value: billing },
				{ type: 'setPriority', value: 'high' },
				{ type: 'addTags', tags: ['vip'] },
				{ type: 'note', body: `${VIP_ORGANISATION} is a VIP account: routed to Billing with high priority by the “VIP email to Billing” trigger.` }
			]
		},
		{
			kind: 'trigger',
			name: 'Customer replied to a pending ticket',
			active: true,
			stopHere: false,
			conditions: { all: [{ field: 'changedBy', operator: 'is', value: 'customer' }, { field: 'status', operator: 'is', value: 'pending' }], any: [] },
			actions: [{ type: 'setStatus', value: 'open' }]
		},
		{
			kind: 'automation',
			name: 'Remind after 48 business hours pending',
			active: false,
			stopHere: false,
			conditions: { all: [{ field: 'status', operator: 'is', value: 'pending' }, { field: 'hours.statusChanged', operator: 'at_least', value: 48, business: true }], any: [] },
			actions: [
				{
					type: 'emailRequester',
					body: 'Hi {{requester.first_name}},\n\nWe are still waiting for your reply on ticket #{{ticket.number}} ({{ticket.subject}}). Just reply to this email and we will pick it up.\n\n{{agent.name}}'
				}
			]
		},
		{
			kind: 'automation',
			name: 'Close solved tickets after 4 days',
			active: false,
			stopHere: false,
			conditions: { all: [{ field: 'status', operator: 'is', value: 'solved' }, { field: 'hours.statusChanged', operator: 'at_least', value: 96 }], any: [] },
			actions: [{ type: 'setStatus', value: 'closed' }]
		}
	];
	for (const rule of demo) await rules.store.create(rule, 'system');
	await rules.store.setSchedule(billing, officeHours('Europe/London'), 'system');
	const leo = await customers.findOrCreate('email', 'leo@chendesign.example', 'Leo Chen');
	await customers.update(leo.id, { organisation: VIP_ORGANISATION }, SYSTEM);
	const vipMail = await tickets.create(
		{
			subject: 'Invoice for the studio redesign',
			requester: { email: 'leo@chendesign.example', name: 'Leo Chen' },
			channel: 'email',
			body: 'Hi,\n\nCould you send the invoice for our studio redesign order to accounts@chendesign.example? Our bookkeeper needs it this week.\n\nThanks,\nLeo'
		},
		SYSTEM
	);
	// The seed runs before the server follows changes: the new ticket's triggers are run here, as they would be.
	await rules.engine.runOnRecorded(vipMail.id, 'system');
}
