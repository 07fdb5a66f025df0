/** Demo custom fields and a "Refund request" form, filled in on Maggie's refund ticket. */
import type { FieldInput } from '../src/lib/ticket';
import { SYSTEM } from './auth/principal';
import type { Services } from './services';

export const DEMO_FIELDS: FieldInput[] = [
	{ key: 'order_number', label: 'Order number', type: 'regex', options: [], pattern: String.raw`#?\d{4,8}`, requiredOnSolve: true },
	{ key: 'refund_amount', label: 'Refund amount', type: 'decimal', options: [], pattern: null, requiredOnSolve: false },
	{ key: 'refund_reason', label: 'Reason', type: 'dropdown', options: ['Charged twice', 'Damaged in transit', 'Not as described', 'Changed my mind'], pattern: null, requiredOnSolve: true },
	{ key: 'product', label: 'Product', type: 'multiselect', options: ['Laptop', 'Phone', 'Headphones', 'Charger'], pattern: null, requiredOnSolve: false },
	{ key: 'warranty', label: 'Under warranty', type: 'checkbox', options: [], pattern: null, requiredOnSolve: false },
	{ key: 'purchase_date', label: 'Purchase date', type: 'date', options: [], pattern: null, requiredOnSolve: false }
];

export async function seedCustomFields({ customFields, tickets }: Services, refundTicketId: string): Promise<void> {
	for (const field of DEMO_FIELDS) await customFields.createField(field, 'system');
	const form = await customFields.createForm({ name: 'Refund request', fieldKeys: DEMO_FIELDS.map((f) => f.key) }, 'system');
	await tickets.patch(
		refundTicketId,
		{ formId: form.id, custom: { order_number: '#48213', refund_amount: 84, refund_reason: 'Charged twice', product: ['Headphones'], warranty: false, purchase_date: '2026-03-04' } },
		SYSTEM
	);
}
