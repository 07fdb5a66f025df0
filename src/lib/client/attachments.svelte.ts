/**
 * Files an agent attaches to the reply or note they are writing: each uploaded at once to the
 * ticket (`POST /api/v1/tickets/{id}/attachments`, with XMLHttpRequest for its upload progress),
 * then listed in the entry's `meta.attachments` when it is sent. They belong to this agent's
 * composer, not to the shared draft: a colleague sending the draft sends the text alone.
 */
import type { Attachment } from '$lib/ticket';
import { formatBytes } from '$lib/format';

export interface AttachmentLimitsInfo {
	maxBytes: number;
	perEntry: number;
	perTicketBytes: number;
	usedBytes: number;
}

export interface PendingAttachment {
	key: number;
	name: string;
	size: number;
	/** Bytes sent so far. */
	sent: number;
	status: 'uploading' | 'done' | 'failed';
	error?: string;
	attachment?: Attachment;
	xhr?: XMLHttpRequest;
}

let nextKey = 0;

export class AttachmentUploads {
	items = $state<PendingAttachment[]>([]);
	limits = $state.raw<AttachmentLimitsInfo | null>(null);

	constructor(private readonly ticketId: string) {}

	get uploading(): boolean {
		return this.items.some((i) => i.status === 'uploading');
	}

	/** What the entry lists: the files uploaded and not removed. */
	get ready(): Attachment[] {
		return this.items.flatMap((i) => (i.status === 'done' && i.attachment ? [i.attachment] : []));
	}

	/** Why the entry cannot be sent with these files yet, in words, or null. */
	get blocker(): string | null {
		if (this.uploading) return 'Wait for the uploads to finish.';
		const max = this.limits?.perEntry;
		if (max && this.ready.length > max) return `A reply or note may carry at most ${max} files: remove ${this.ready.length - max}.`;
		return null;
	}

	/** The limits, told before the agent hits them. */
	get limitsLine(): string {
		const l = this.limits;
		return l ? `Up to ${l.perEntry} files, ${formatBytes(l.maxBytes)} each` : '';
	}

	async loadLimits() {
		if (this.limits) return;
		try {
			const response = await fetch(`/api/v1/tickets/${encodeURIComponent(this.ticketId)}/attachments`, { headers: { accept: 'application/json' } });
			if (response.ok) this.limits = (await response.json()) as AttachmentLimitsInfo;
		} catch {
			/* the server still enforces them, and says so */
		}
	}

	add(files: Iterable<File>) {
		for (const file of files) {
			const item: PendingAttachment = { key: nextKey++, name: file.name, size: file.size, sent: 0, status: 'uploading' };
			const limits = this.limits;
			if (limits && file.size > limits.maxBytes) {
				this.items.push({ ...item, status: 'failed', error: `Too large: a file may be at most ${formatBytes(limits.maxBytes)}.` });
				continue;
			}
			this.items.push(item);
			this.upload(this.items[this.items.length - 1]!, file);
		}
	}

	remove(key: number) {
		const item = this.items.find((i) => i.key === key);
		item?.xhr?.abort();
		this.items = this.items.filter((i) => i.key !== key);
	}

	/** Forgets the files once their entry is sent. */
	clear() {
		for (const item of this.items) item.xhr?.abort();
		this.items = [];
	}

	private upload(item: PendingAttachment, file: File) {
		const xhr = new XMLHttpRequest();
		const type = file.type || 'application/octet-stream';
		xhr.open('POST', `/api/v1/tickets/${encodeURIComponent(this.ticketId)}/attachments?name=${encodeURIComponent(file.name)}&type=${encodeURIComponent(type)}`);
		xhr.setRequestHeader('content-type', 'application/octet-stream');
		xhr.upload.onprogress = (event) => {
			item.sent = event.loaded;
		};
		xhr.onload = () => {
			item.xhr = undefined;
			let body: { error?: { message?: string } } & Partial<Attachment> = {};
			try {
				body = JSON.parse(xhr.responseText);
			} catch {
				/* not JSON: said below by status */
			}
			if (xhr.status === 201 && body.sha256) {
				item.status = 'done';
				item.sent = item.size;
				item.attachment = body as Attachment;
				if (this.limits) this.limits = { ...this.limits, usedBytes: this.limits.usedBytes + item.size };
			} else {
				item.status = 'failed';
				item.error = body.error?.message ? `Not attached: ${body.error.message}.` : `Not attached (${xhr.status}).`;
			}
		};
		xhr.onerror = () => {
			item.xhr = undefined;
			item.status = 'failed';
			item.error = 'Not attached: the upload was interrupted.';
		};
		item.xhr = xhr;
		xhr.send(file);
	}
}
