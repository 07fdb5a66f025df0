/**
 * The requester in the context panel: their profile, edited in place, and their interaction
 * history across every ticket of theirs, kept live from the workspace's ticket stream.
 */
import type { Interaction } from '$lib/api/context';
import { CUSTOMER_CHANNELS } from '$lib/ticket/schema';
import { sendJson } from './send-json';
import { getJson, type CustomerInfo, type Workspace } from './workspace.svelte';

type Address = { channel: (typeof CUSTOMER_CHANNELS)[number]; address: string };

/** The profile form: open on "Edit", saved as one PATCH of what changed. */
export class ProfileEditor {
	editing = $state(false);
	saving = $state(false);
	error = $state<string | null>(null);
	name = $state('');
	organisation = $state('');
	notes = $state('');
	tags = $state('');
	addresses = $state<Address[]>([]);
	newChannel = $state<Address['channel']>('email');
	newAddress = $state('');

	readonly channels = CUSTOMER_CHANNELS;
	private original: CustomerInfo | null = null;

	start(customer: CustomerInfo) {
		this.original = customer;
		this.name = customer.name;
		this.organisation = customer.organisation;
		this.notes = customer.notes;
		this.tags = customer.tags.join(', ');
		this.addresses = customer.addresses.map((a) => ({ ...a }) as Address);
		this.newAddress = '';
		this.error = null;
		this.editing = true;
	}

	cancel() {
		this.editing = false;
		this.error = null;
	}

	removeAddress(index: number) {
		this.addresses = this.addresses.filter((_, i) => i !== index);
	}

	addAddress() {
		const address = this.newAddress.trim();
		if (!address) return;
		if (!this.addresses.some((a) => a.channel === this.newChannel && a.address === address)) {
			this.addresses = [...this.addresses, { channel: this.newChannel, address }];
		}
		this.newAddress = '';
	}

	/** Saves what changed; true when saved (then reload the customer where it shows). */
	async save(): Promise<boolean> {
		const original = this.original;
		if (!original || this.saving) return false;
		this.addAddress(); // an address typed but not added yet counts
		const key = (a: { channel: string; address: string }) => `${a.channel}\u0000${a.address}`;
		const before = new Set(original.addresses.map(key));
		const after = new Set(this.addresses.map(key));
		const tags = [...new Set(this.tags.split(',').map((t) => t.trim()).filter(Boolean))];
		const patch: Record<string, unknown> = {};
		if (this.name.trim() !== original.name) patch.name = this.name;
		if (this.organisation.trim() !== original.organisation) patch.organisation = this.organisation;
		if (this.notes !== original.notes) patch.notes = this.notes;
		if (tags.join(',') !== original.tags.join(',')) patch.tags = tags;
		const added = this.addresses.filter((a) => !before.has(key(a)));
		const removed = original.addresses.filter((a) => !after.has(key(a)));
		if (added.length) patch.addAddresses = added;
		if (removed.length) patch.removeAddresses = removed;
		if (!Object.keys(patch).length) {
			this.editing = false;
			return true;
		}
		this.saving = true;
		try {
			await sendJson('PATCH', `/api/v1/customers/${encodeURIComponent(original.id)}`, patch);
			this.editing = false;
			this.error = null;
			return true;
		} catch (error) {
			this.error = (error as Error).message;
			return false;
		} finally {
			this.saving = false;
		}
	}
}

const HISTORY_DEBOUNCE_MS = 400;

/** The customer's interactions across their tickets, newest first; reloaded when one of their tickets changes. */
export class CustomerHistory {
	interactions = $state.raw<Interaction[]>([]);
	loaded = $state(false);
	error = $state<string | null>(null);

	private customerId: string | null = null;
	private timer: ReturnType<typeof setTimeout> | null = null;
	private readonly unsubscribe: () => void;

	constructor(workspace: Workspace) {
		this.unsubscribe = workspace.onTicketRow((row) => {
			if (row.requesterId === this.customerId) this.schedule();
		});
	}

	/** Shows `customerId`'s history (again, when asked to refresh). */
	async load(customerId: string) {
		if (customerId !== this.customerId) {
			this.customerId = customerId;
			this.loaded = false;
			this.interactions = [];
		}
		try {
			const { interactions } = await getJson<{ interactions: Interaction[] }>(`/api/v1/customers/${encodeURIComponent(customerId)}/history`);
			if (customerId !== this.customerId) return;
			this.interactions = interactions;
			this.error = null;
		} catch (error) {
			this.error = (error as Error).message;
		} finally {
			this.loaded = true;
		}
	}

	private schedule() {
		if (this.timer) clearTimeout(this.timer);
		this.timer = setTimeout(() => {
			this.timer = null;
			if (this.customerId) void this.load(this.customerId);
		}, HISTORY_DEBOUNCE_MS);
	}

	destroy() {
		this.unsubscribe();
		if (this.timer) clearTimeout(this.timer);
	}
}

const CHANNEL_WORDS: Record<string, string> = { email: 'Email', chat: 'Chat', messaging: 'Messaging', social: 'Social', talk: 'Phone', web: 'Web form', api: 'API' };

/** One interaction in words: "Email from the customer", "Call by the team", "Ticket opened via chat". */
export function describeInteraction(item: Interaction): string {
	const via = CHANNEL_WORDS[item.channel] ?? item.channel;
	switch (item.kind) {
		case 'opened':
			return `Ticket opened via ${via.toLowerCase()}`;
		case 'call':
			return item.direction === 'out' ? 'Call to the customer' : 'Call from the customer';
		case 'event':
			// Events say what happened themselves ("Chat ended by Alex", "Outbound call to …").
			return item.preview || `${via} activity`;
		default:
			return item.direction === 'in' ? `${via} from the customer` : `${via} reply`;
	}
}
