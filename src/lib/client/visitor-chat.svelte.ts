/**
 * The visitor's side of a live chat (the hosted chat page, also inside the widget's iframe): the
 * visitor token kept in localStorage, the chat's messages and status from the visitor stream, and
 * sending with an id per message, so a retry after a network error never writes twice; and the
 * chat's satisfaction survey once it is asked.
 */
import type { ChatInfo, ChatStatus, VisitorMessage } from '$lib/api/chat';
import type { SurveyView } from '$lib/api/satisfaction';
import type { SatisfactionRating } from '$lib/ticket/schema';
import { newId } from '$lib/ticket/ids';

const TOKEN_KEY = 'tandem:visitor';
/** The visitor stops "typing" this long after the last keystroke. */
const TYPING_IDLE_MS = 3000;
/** A failed send is tried again after this long, while the page is open. */
const RETRY_MS = 2000;

export interface OutgoingMessage {
	id: string;
	body: string;
	state: 'sending' | 'failed';
}

export class VisitorChat {
	/** Nothing started yet (the pre-chat form), or the chat's own status. */
	status = $state<'loading' | 'new' | ChatStatus>('loading');
	messages = $state.raw<VisitorMessage[]>([]);
	/** Sent by the visitor, not yet confirmed by the server. */
	outgoing = $state.raw<OutgoingMessage[]>([]);
	agentName = $state<string | null>(null);
	/** The agent writing a reply right now, by first name. */
	agentTyping = $state<string | null>(null);
	connected = $state(false);
	error = $state<string | null>(null);
	/** The chat's satisfaction survey, once asked; what the visitor types as a comment; an answer on its way. */
	survey = $state.raw<SurveyView | null>(null);
	surveyComment = $state('');
	answering = $state(false);

	private token: string | null = null;
	private stream: EventSource | null = null;
	private typingSent = false;
	private typingTimer: ReturnType<typeof setTimeout> | null = null;
	private destroyed = false;
	private readonly onVisibility = () => void this.post('/chat/presence', { presence: document.visibilityState === 'visible' ? 'online' : 'away' });

	private ready: Promise<void> | null = null;

	/** Finds or makes the visitor session and reconnects to a chat going on. */
	start(): Promise<void> {
		this.ready ??= this.open();
		return this.ready;
	}

	private async open(): Promise<void> {
		this.token = readToken();
		const response = await this.request('POST', '');
		if (!response) return;
		const body = (await response.json()) as { token?: string; chat: ChatInfo | null };
		if (body.token) {
			this.token = body.token;
			writeToken(body.token);
		}
		this.status = body.chat ? body.chat.status : 'new';
		if (body.chat) {
			this.listen();
			await this.loadSurvey();
		}
		document.addEventListener('visibilitychange', this.onVisibility);
	}

	/** Records a page of the site the visitor is on (the widget tells it). */
	async recordPage(url: string, title: string): Promise<void> {
		await this.start();
		if (!this.token) return;
		await this.post('/pages', { url, title });
	}

	/** The pre-chat form: starts the chat with the first message. */
	async begin(input: { name: string; email?: string; message: string; page?: { url: string; title: string } }): Promise<boolean> {
		const response = await this.request('POST', '/chat', { ...input, id: newId() });
		if (!response) return false;
		const chat = (await response.json()) as ChatInfo;
		this.messages = [];
		this.agentName = null;
		this.survey = null;
		this.status = chat.status;
		this.listen();
		return true;
	}

	/** Sends a message; it shows at once and is confirmed (or retried) in the background. */
	send(body: string): void {
		const text = body.trim();
		if (!text || this.status === 'ended') return;
		const message: OutgoingMessage = { id: newId(), body: text, state: 'sending' };
		this.outgoing = [...this.outgoing, message];
		this.stopTyping();
		void this.deliver(message);
	}

	/** Called on each keystroke in the message box. */
	typed(): void {
		if (this.status === 'ended' || this.status === 'new') return;
		if (!this.typingSent) {
			this.typingSent = true;
			void this.post('/chat/typing', { typing: true });
		}
		if (this.typingTimer) clearTimeout(this.typingTimer);
		this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
	}

	async end(): Promise<void> {
		const response = await this.request('DELETE', '/chat');
		if (response) this.status = 'ended';
	}

	/** Back to the pre-chat form after a chat ended. */
	startOver(): void {
		this.stream?.close();
		this.stream = null;
		this.messages = [];
		this.outgoing = [];
		this.survey = null;
		this.surveyComment = '';
		this.status = 'new';
	}

	/** Answers the chat's survey: good or bad, with the comment typed so far. */
	async answer(rating: SatisfactionRating): Promise<void> {
		this.answering = true;
		try {
			const response = await this.request('POST', '/chat/satisfaction', { rating, comment: this.surveyComment });
			if (response) this.setSurvey(((await response.json()) as { survey: SurveyView }).survey);
		} finally {
			this.answering = false;
		}
	}

	private async loadSurvey(): Promise<void> {
		const response = await fetch('/api/v1/visitor/chat/satisfaction', { headers: this.headers() }).catch(() => null);
		if (response?.ok) this.setSurvey(((await response.json()) as { survey: SurveyView | null }).survey);
	}

	private setSurvey(survey: SurveyView | null): void {
		this.survey = survey;
		if (survey && 'comment' in survey && survey.comment) this.surveyComment = survey.comment;
	}

	destroy(): void {
		this.destroyed = true;
		this.stream?.close();
		if (this.typingTimer) clearTimeout(this.typingTimer);
		document.removeEventListener('visibilitychange', this.onVisibility);
	}

	private async deliver(message: OutgoingMessage): Promise<void> {
		const response = await fetch('/api/v1/visitor/chat/messages', {
			method: 'POST',
			headers: this.headers(),
			body: JSON.stringify({ id: message.id, body: message.body })
		}).catch(() => null);
		if (this.destroyed) return;
		if (response?.ok) {
			this.add((await response.json()) as VisitorMessage);
			this.outgoing = this.outgoing.filter((m) => m.id !== message.id);
			return;
		}
		if (response && response.status < 500) {
			// Refused for good (the chat ended, the text is too long): say so, keep the text visible.
			this.error = await errorText(response);
			this.outgoing = this.outgoing.map((m) => (m.id === message.id ? { ...m, state: 'failed' } : m));
			return;
		}
		// Offline or a server hiccup: the same id again, so it is stored once whatever happened.
		this.outgoing = this.outgoing.map((m) => (m.id === message.id ? { ...m, state: 'failed' } : m));
		setTimeout(() => {
			if (this.destroyed || !this.outgoing.some((m) => m.id === message.id)) return;
			this.outgoing = this.outgoing.map((m) => (m.id === message.id ? { ...m, state: 'sending' } : m));
			void this.deliver(message);
		}, RETRY_MS);
	}

	private listen(): void {
		this.stream?.close();
		const stream = new EventSource(`/api/v1/visitor/chat/stream?token=${encodeURIComponent(this.token ?? '')}`);
		this.stream = stream;
		stream.onopen = () => (this.connected = true);
		stream.onerror = () => (this.connected = false);
		stream.addEventListener('message', (event) => this.add((JSON.parse(event.data) as { message: VisitorMessage }).message));
		stream.addEventListener('typing', (event) => {
			const data = JSON.parse(event.data) as { typing: boolean; name: string | null };
			this.agentTyping = data.typing ? data.name : null;
		});
		stream.addEventListener('chat', (event) => {
			const data = JSON.parse(event.data) as { status: ChatStatus; agentName: string | null };
			this.status = data.status;
			this.agentName = data.agentName;
			if (data.status === 'ended') this.agentTyping = null;
		});
		stream.addEventListener('survey', () => void this.loadSurvey());
	}

	/** Adds a message once (the stream repeats the history when it reconnects), in time order. */
	private add(message: VisitorMessage): void {
		if (this.messages.some((m) => m.id === message.id)) return;
		if (message.from === 'agent') this.agentTyping = null;
		this.messages = [...this.messages, message].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
	}

	private stopTyping(): void {
		if (this.typingTimer) clearTimeout(this.typingTimer);
		this.typingTimer = null;
		if (!this.typingSent) return;
		this.typingSent = false;
		void this.post('/chat/typing', { typing: false });
	}

	private headers(): Record<string, string> {
		return { 'content-type': 'application/json', ...(this.token ? { 'x-visitor-token': this.token } : {}) };
	}

	private async post(path: string, body: unknown): Promise<void> {
		await fetch(`/api/v1/visitor${path}`, { method: 'POST', headers: this.headers(), body: JSON.stringify(body) }).catch(() => null);
	}

	/** A request whose failure is shown to the visitor; null when it failed. */
	private async request(method: string, path: string, body?: unknown): Promise<Response | null> {
		this.error = null;
		const response = await fetch(`/api/v1/visitor${path}`, {
			method,
			headers: this.headers(),
			body: body === undefined ? undefined : JSON.stringify(body)
		}).catch(() => null);
		if (!response) {
			this.error = 'You seem to be offline. Try again in a moment.';
			return null;
		}
		if (!response.ok) {
			this.error = await errorText(response);
			return null;
		}
		return response;
	}
}

async function errorText(response: Response): Promise<string> {
	const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
	return body?.error?.message ?? `Something went wrong (${response.status}).`;
}

function readToken(): string | null {
	try {
		return localStorage.getItem(TOKEN_KEY);
	} catch {
		return null; // storage blocked: a new visitor session per page
	}
}

function writeToken(token: string): void {
	try {
		localStorage.setItem(TOKEN_KEY, token);
	} catch {
		/* storage blocked: the session lasts the page */
	}
}
