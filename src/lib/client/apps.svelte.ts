/**
 * The host of the context panel's apps. Each app is an `<iframe sandbox="allow-scripts">` (no
 * same-origin access: it cannot read the workspace's cookies, storage or page) that talks to this
 * host through postMessage (static/apps/sdk.js). The host answers only its own frames, checks every
 * request (zod) and the app's scopes, and performs what is allowed through the agent's own ticket
 * session, so the server checks it like any update of the agent's. A refused request changes
 * nothing; the app is told why and the refusal is recorded here and in the console.
 */
import { ACTION_SCOPES, appRequestSchema, type AppRequest, type AppScope } from '$lib/api/context';
import { appendEntry, newId, type Priority, type Status } from '$lib/ticket';
import { composerOf } from './composer.svelte';
import type { TicketSession } from './ticket-session.svelte';
import { getJson } from './workspace.svelte';

export interface InstalledApp {
	id: string;
	name: string;
	url: string;
	scopes: AppScope[];
	enabled: boolean;
}

/** What an app is told: the ticket, its requester and their records. */
export interface AppContext {
	ticket: { id: string; subject: string; status: string; priority: string; tags: string[]; channel: string; assigneeId: string | null; groupId: string | null } | null;
	customer: { id: string; name: string; organisation: string; tags: string[]; addresses: { channel: string; address: string }[] } | null;
	records: unknown[];
}

export interface Refusal {
	app: string;
	action: string;
	reason: string;
	at: number;
}

const SCOPE_WORDS: Record<AppScope, string> = {
	'draft.insert': 'insert into the draft',
	'ticket.fields': 'set ticket fields',
	'ticket.tags': 'add tags',
	'ticket.notes': 'add internal notes'
};

export class AppHost {
	apps = $state.raw<InstalledApp[]>([]);
	error = $state<string | null>(null);
	/** Requests refused, newest first. */
	refusals = $state.raw<Refusal[]>([]);

	private readonly frames = new Map<string, HTMLIFrameElement>();
	private context: AppContext = { ticket: null, customer: null, records: [] };
	private published = '';

	constructor(private readonly session: TicketSession) {}

	async load() {
		try {
			this.apps = (await getJson<{ apps: InstalledApp[] }>('/api/v1/apps')).apps.filter((app) => app.enabled);
			this.error = null;
		} catch (error) {
			this.error = (error as Error).message;
		}
	}

	/** Starts listening to the apps' messages; returns how to stop (an effect's teardown). */
	listen(): () => void {
		const onMessage = (event: MessageEvent) => this.receive(event);
		window.addEventListener('message', onMessage);
		return () => window.removeEventListener('message', onMessage);
	}

	/** A Svelte attachment for an app's iframe: registers it while it is in the page. */
	frame(app: InstalledApp) {
		return (iframe: HTMLIFrameElement) => {
			this.frames.set(app.id, iframe);
			return () => {
				if (this.frames.get(app.id) === iframe) this.frames.delete(app.id);
			};
		};
	}

	/** The context changed (the ticket, the customer, the records): every app hears of it. */
	publish(context: AppContext) {
		// The session refreshes its fields on every change to the document (each keystroke in a
		// draft): apps hear only of real changes.
		const serialised = JSON.stringify(context);
		if (serialised === this.published) return;
		this.published = serialised;
		this.context = context;
		for (const [id, iframe] of this.frames) {
			const app = this.apps.find((a) => a.id === id);
			if (app) post(iframe, { tandem: 1, event: 'context', context: this.contextFor(app) });
		}
	}

	private contextFor(app: InstalledApp) {
		return { ...this.context, app: { name: app.name, scopes: app.scopes } };
	}

	private receive(event: MessageEvent) {
		// Only the frames of this panel: a message from anywhere else is not an app's.
		const entry = [...this.frames].find(([, iframe]) => iframe.contentWindow === event.source);
		if (!entry) return;
		const [appId, iframe] = entry;
		const app = this.apps.find((a) => a.id === appId);
		if (!app) return;
		const parsed = appRequestSchema.safeParse(event.data);
		if (!parsed.success) {
			const id = (event.data as { id?: unknown } | null)?.id;
			const issue = parsed.error.issues[0]!;
			const reason = `invalid request${issue.path.length ? ` (${issue.path.join('.')})` : ''}: ${issue.message}`;
			this.refuse(app, String((event.data as { action?: unknown } | null)?.action ?? 'unknown'), reason);
			if (typeof id === 'number') post(iframe, { tandem: 1, re: id, ok: false, error: reason });
			return;
		}
		const request = parsed.data;
		const answer = (ok: boolean, detail?: unknown) =>
			post(iframe, ok ? { tandem: 1, re: request.id, ok: true, result: detail ?? null } : { tandem: 1, re: request.id, ok: false, error: String(detail) });
		if (request.action === 'ready') return answer(true, this.contextFor(app));
		const scope = ACTION_SCOPES[request.action];
		if (!app.scopes.includes(scope)) {
			const reason = `${app.name} may not ${SCOPE_WORDS[scope]}: the scope ${scope} was not granted`;
			this.refuse(app, request.action, reason);
			return answer(false, reason);
		}
		if (this.session.readOnly) {
			const reason = 'this ticket is read-only for you';
			this.refuse(app, request.action, reason);
			return answer(false, reason);
		}
		const failure = this.perform(request);
		if (failure) {
			this.refuse(app, request.action, failure);
			return answer(false, failure);
		}
		answer(true);
	}

	/** Does what the app asked, as the agent; a reason when it could not. */
	private perform(request: Exclude<AppRequest, { action: 'ready' }>): string | null {
		switch (request.action) {
			case 'insertIntoDraft': {
				const composer = composerOf(this.session);
				if (!composer) return 'there is no draft to insert into';
				composer.insertText(request.text);
				return null;
			}
			case 'setField':
				this.session.setField(request.name, request.value as Status & Priority);
				return null;
			case 'addTag':
				this.session.addTag(request.tag);
				return null;
			case 'addNote':
				appendEntry(this.session.doc, {
					id: newId(),
					kind: 'note',
					channel: 'internal',
					visibility: 'internal',
					authorType: 'agent',
					authorId: this.session.me.id,
					body: request.text,
					createdAt: Date.now()
				});
				return null;
		}
	}

	private refuse(app: InstalledApp, action: string, reason: string) {
		console.warn(`[tandem apps] refused ${action} from ${app.name}: ${reason}`);
		this.refusals = [{ app: app.name, action, reason, at: Date.now() }, ...this.refusals].slice(0, 20);
	}
}

/** Posts to a sandboxed frame: its origin is opaque ("null"), so it cannot be named as the target. */
function post(iframe: HTMLIFrameElement, message: unknown) {
	iframe.contentWindow?.postMessage(JSON.parse(JSON.stringify(message)), '*');
}
