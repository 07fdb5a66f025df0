/**
 * Demo data of the context panel: help-centre articles, an Order object type with orders linked to
 * demo customers (Maggie's #48213 among them), customer profiles, and the example app.
 */
import type { ArticleInput } from '../src/lib/api/context';
import { SYSTEM } from './auth/principal';
import type { Services } from './services';

export const DEMO_ARTICLES: ArticleInput[] = [
	{
		title: 'How refunds work',
		section: 'Billing and refunds',
		tags: ['refund', 'billing'],
		status: 'published',
		body: `When we issue a refund, the money goes back to the card or account you paid with.

## How long it takes

- **Cards**: 5–10 business days, depending on your bank.
- **PayPal**: usually within 24 hours.

Your bank may show the refund as *pending* for a day or two before it posts. Every refund has a reference number (for example \`RF-2093-7741\`) that your bank can trace.

## Charged twice?

A duplicate charge is almost always a temporary authorisation that disappears within 3 days. If both charges have posted, [contact us](/chat) with your order number and we will refund the extra one.`
	},
	{
		title: 'Returning an item',
		section: 'Billing and refunds',
		tags: ['returns', 'refund'],
		status: 'published',
		body: `You can return any unused item within **30 days** of delivery.

1. Open *My orders* and choose the order.
2. Select the items and a reason.
3. Print the prepaid label and drop the parcel off.

We refund the item as soon as it reaches our warehouse; see [How refunds work](/help/how-refunds-work).`
	},
	{
		title: 'Shipping times and tracking',
		section: 'Orders and shipping',
		tags: ['shipping', 'tracking', 'delivery'],
		status: 'published',
		body: `Orders leave our warehouse within one business day.

- **Standard**: 3–5 business days
- **Express**: 1–2 business days

You get a tracking link by email as soon as the parcel ships. If tracking has not moved for 5 days, write to us and we will open an investigation with the carrier.`
	},
	{
		title: 'Reset your password',
		section: 'Account and security',
		tags: ['password', 'login', 'account'],
		status: 'published',
		body: `Forgot your password? Open the sign-in page and choose **Forgot password**. We send a reset link that works for one hour.

## The reset email never arrives

- Check your spam or junk folder, and search for mail from *no-reply@northwind.example*.
- Make sure you use the address your account was created with.
- Corporate mail filters sometimes hold our mail for a few minutes: wait ten minutes, then try again.

Still nothing? Contact us and we will confirm the address on your account.`
	},
	{
		title: 'Two-factor authentication',
		section: 'Account and security',
		tags: ['2fa', 'security', 'login'],
		status: 'published',
		body: `Two-factor authentication (2FA) asks for a code from your phone when you sign in.

## Lost your phone?

Use one of the **backup codes** you saved when you turned 2FA on. Without them, our team can switch 2FA off after verifying your identity: we ask for your order history and a photo ID, and never for your password.`
	},
	{
		title: 'Invoices with your company name and VAT number',
		section: 'Billing and refunds',
		tags: ['invoice', 'vat', 'billing'],
		status: 'published',
		body: `Add your company name and VAT number under *Account → Billing details*; every invoice from then on carries them.

For an invoice you already received, reply to your order confirmation and ask for a corrected invoice: we reissue it within one business day.`
	},
	{
		title: 'Holiday shipping deadlines',
		section: 'Orders and shipping',
		tags: ['shipping', 'holidays'],
		status: 'draft',
		body: 'Draft: the cut-off dates for delivery before the holidays are not final yet.'
	}
];

/** Orders by customer email (every one also an address of a demo customer). */
const DEMO_ORDERS = [
	{ email: 'maggie.chen@example.com', number: '48213', placed: '2026-11-10', status: 'refunded', total: 84, items: 'Trail tent 2P, footprint', carrier: 'UPS' },
	{ email: 'maggie.chen@example.com', number: '47102', placed: '2026-10-02', status: 'delivered', total: 129.5, items: 'Down jacket (M)', carrier: 'DHL' },
	{ email: 'priya@northwind.example', number: '48540', placed: '2026-11-18', status: 'shipped', total: 42, items: 'Water filter, 2 cartridges', carrier: 'UPS' },
	{ email: 'ben.okafor@example.com', number: '48377', placed: '2026-11-14', status: 'processing', total: 218, items: 'Hiking boots (44), socks', carrier: 'DHL' },
	{ email: 'hannah.becker@example.de', number: '48102', placed: '2026-11-08', status: 'delivered', total: 65.9, items: 'Headlamp, batteries', carrier: 'DHL' }
];

const PROFILES = [
	{ email: 'maggie.chen@example.com', organisation: 'Chen Design Studio', notes: 'Prefers email follow-ups. VAT number GB 293 7741 06.', tags: ['vip', 'repeat-buyer'] },
	{ email: 'priya@northwind.example', organisation: 'Northwind Traders', notes: '', tags: ['b2b'] }
];

export async function seedContext(services: Services): Promise<void> {
	const { help, objects, apps, customers } = services;
	for (const article of DEMO_ARTICLES) await help.create(article, SYSTEM);

	for (const profile of PROFILES) {
		const customer = await customers.findOrCreate('email', profile.email);
		await customers.update(customer.id, { organisation: profile.organisation, notes: profile.notes, tags: profile.tags }, SYSTEM);
	}

	const order = await objects.createType(
		{
			name: 'Order',
			fields: [
				{ key: 'placed', label: 'Placed', type: 'date', required: true },
				{ key: 'status', label: 'Status', type: 'enum', required: true, options: ['processing', 'shipped', 'delivered', 'refunded', 'cancelled'] },
				{ key: 'total', label: 'Total (USD)', type: 'number', required: true },
				{ key: 'items', label: 'Items', type: 'text', required: false },
				{ key: 'carrier', label: 'Carrier', type: 'text', required: false },
				{ key: 'giftWrapped', label: 'Gift wrapped', type: 'boolean', required: false }
			]
		},
		SYSTEM
	);
	for (const { email, number, ...values } of DEMO_ORDERS) {
		const customer = await customers.findOrCreate('email', email);
		await objects.createRecord({ typeId: order.id, externalId: number, values, customerIds: [customer.id] }, SYSTEM);
	}
	await objects.createType(
		{
			name: 'Subscription',
			fields: [
				{ key: 'plan', label: 'Plan', type: 'enum', required: true, options: ['Starter', 'Pro', 'Enterprise'] },
				{ key: 'renews', label: 'Renews', type: 'date', required: true },
				{ key: 'seats', label: 'Seats', type: 'number', required: false }
			]
		},
		SYSTEM
	);

	await apps.create({ name: 'order-lookup', url: '/apps/order-lookup/index.html', scopes: ['draft.insert'], enabled: true }, SYSTEM);
}
