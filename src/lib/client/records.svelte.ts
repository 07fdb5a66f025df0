/**
 * The context panel's Records section: custom object records linked to the ticket or to its
 * requester, and linking or unlinking others (found by text) to the ticket.
 */
import type { LinkedRecord, ObjectField, ObjectRecord, RecordLink } from '$lib/api/context';
import { formatFieldNumber } from '$lib/format';
import { sendJson } from './send-json';
import { getJson } from './workspace.svelte';

const SEARCH_DEBOUNCE_MS = 200;

export class RecordsState {
	records = $state.raw<LinkedRecord[]>([]);
	loaded = $state(false);
	error = $state<string | null>(null);
	/** Field definitions by type id, for labels and formatting. */
	fields = $state.raw<Record<string, ObjectField[]>>({});
	types = $state.raw<{ id: string; name: string }[]>([]);
	linking = $state(false);
	query = $state('');
	/** Only records of this type id, when chosen. */
	typeFilter = $state('');
	found = $state.raw<ObjectRecord[]>([]);
	/** Names of the customers records found belong to, by id (looked up once each). */
	ownerNames = $state<Record<string, string>>({});
	/** A found record of other customers than the requester, waiting for the agent to confirm linking it. */
	confirming = $state.raw<ObjectRecord | null>(null);

	private timer: ReturnType<typeof setTimeout> | null = null;

	constructor(private readonly ticketId: string) {}

	async load() {
		try {
			const [{ records }, { types }] = await Promise.all([
				getJson<{ records: LinkedRecord[] }>(`/api/v1/tickets/${encodeURIComponent(this.ticketId)}/objects`),
				getJson<{ types: { id: string; name: string; fields: ObjectField[] }[] }>('/api/v1/object-types')
			]);
			this.records = records;
			this.fields = Object.fromEntries(types.map((t) => [t.id, t.fields]));
			this.types = types.map(({ id, name }) => ({ id, name }));
			this.error = null;
		} catch (error) {
			this.error = (error as Error).message;
		} finally {
			this.loaded = true;
		}
	}

	/** A record's name: "Order #48213". */
	title(record: ObjectRecord): string {
		return `${record.typeName} ${record.externalId ? `#${record.externalId}` : record.id.slice(-6)}`;
	}

	/** Its filled-in fields as label and text, in the type's order. */
	details(record: ObjectRecord): { label: string; text: string; url?: string }[] {
		return (this.fields[record.typeId] ?? [])
			.filter((f) => record.values[f.key] !== undefined && record.values[f.key] !== '')
			.map((f) => {
				const value = record.values[f.key];
				const text = f.type === 'boolean' ? (value ? 'Yes' : 'No') : f.type === 'number' && typeof value === 'number' ? formatFieldNumber(value, f.label) : String(value);
				return f.type === 'url' ? { label: f.label, text, url: text } : { label: f.label, text };
			});
	}

	openLinking() {
		this.linking = true;
		this.query = '';
		this.found = [];
	}

	closeLinking() {
		this.linking = false;
		this.confirming = null;
	}

	typed() {
		if (this.timer) clearTimeout(this.timer);
		this.timer = setTimeout(() => void this.find(), SEARCH_DEBOUNCE_MS);
	}

	private async find() {
		const q = this.query.trim();
		if (!q && !this.typeFilter) return void (this.found = []);
		const query = new URLSearchParams({ limit: '8' });
		if (q) query.set('q', q);
		if (this.typeFilter) query.set('type', this.typeFilter);
		try {
			const { records } = await getJson<{ records: ObjectRecord[] }>(`/api/v1/objects?${query}`);
			const linked = new Set(this.records.filter((r) => r.linkedTo.includes('ticket')).map((r) => r.id));
			this.found = records.filter((r) => !linked.has(r.id));
			await this.nameOwners(this.found.flatMap((r) => r.customerIds));
		} catch (error) {
			this.error = (error as Error).message;
		}
	}

	private async nameOwners(customerIds: string[]) {
		const unknown = [...new Set(customerIds)].filter((id) => !(id in this.ownerNames));
		const named = await Promise.all(unknown.map((id) => getJson<{ name: string }>(`/api/v1/customers/${encodeURIComponent(id)}`).then((c) => [id, c.name] as const)));
		if (named.length) this.ownerNames = { ...this.ownerNames, ...Object.fromEntries(named) };
	}

	/** Whose the record is, in words: "Maria Lopez's", or "no customer's". */
	owner(record: ObjectRecord): string {
		if (!record.customerIds.length) return 'no customer’s';
		return record.customerIds.map((id) => `${this.ownerNames[id] ?? 'another customer'}’s`).join(', ');
	}

	/** Whether the record belongs to customers and not to `requesterId`: linking it needs a confirmation. */
	belongsElsewhere(record: ObjectRecord, requesterId: string | null): boolean {
		return record.customerIds.length > 0 && !record.customerIds.some((id) => id === requesterId);
	}

	/** Links a found record; one of other customers' waits for confirmLink(). */
	link(record: ObjectRecord, requesterId: string | null) {
		if (this.belongsElsewhere(record, requesterId)) return void (this.confirming = record);
		return this.change('POST', record.id);
	}

	confirmLink() {
		const record = this.confirming;
		this.confirming = null;
		if (record) return this.change('POST', record.id, { confirmOtherOwner: true });
	}

	cancelLink() {
		this.confirming = null;
	}

	unlink(recordId: string) {
		return this.change('DELETE', recordId);
	}

	private async change(method: 'POST' | 'DELETE', recordId: string, body?: RecordLink) {
		try {
			const { records } = await sendJson<{ records: LinkedRecord[] }>(method, `/api/v1/tickets/${encodeURIComponent(this.ticketId)}/objects/${encodeURIComponent(recordId)}`, body);
			this.records = records;
			this.found = this.found.filter((r) => r.id !== recordId);
			this.error = null;
		} catch (error) {
			this.error = (error as Error).message;
		}
	}

	destroy() {
		if (this.timer) clearTimeout(this.timer);
	}
}
