/**
 * Satisfaction surveys (CSAT). When a ticket becomes solved, its requester is asked "How did we
 * do?" if the admin has surveys on for the ticket's channel (by default email and chat):
 * - each solve is decided once: the survey row is keyed by the ticket and the event that recorded
 *   the solve (`field.changed` to solved, written once by the projection), inserted by whichever
 *   node projected the change; a restart looks again at tickets solved in the last day
 *   (`catchUp`), and the key makes every repeat a no-op. A ticket reopened and solved again is
 *   asked again; the older survey, if unanswered, expires then.
 * - by email: a mail through the outbox (kind 'survey') with a "Good" and a "Bad" link to the
 *   public page /satisfaction/<token>?rating=…; the token names the survey and its expiry and is
 *   signed (HMAC-SHA256) with a server secret kept in the database (the same on every node).
 * - in chat: the visitor's widget asks, once per chat ticket, at the first of the chat ending (the
 *   agent or the visitor ends it) and the ticket being solved; the survey row's key is then 0
 *   (NO_EVENT), so the two can never both ask. Only the chat's own visitor answers it.
 * An answer is recorded once (the first counts); the customer may change it, or add a comment,
 * for ANSWER_CHANGE_MS after the first, and never after the link expired. Each recorded answer is
 * an entry in the ticket (kind event, internal, authored by the customer, `meta.satisfaction`)
 * written together with the server-set fields `satisfaction` and `satisfactionComment`; the
 * survey row keeps the figures the supervisor dashboard counts.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { and, desc, eq, gt, gte, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import type { SatisfactionToday, SurveyAnswer, SurveySettings, SurveyView } from '../src/lib/api/satisfaction';
import { CUSTOMER_CHANNELS, newId, type CustomerChannel, type Entry, type SatisfactionRating } from '../src/lib/ticket';
import { SYSTEM } from './auth/principal';
import { serverSecret } from './auth/secrets';
import type { Chats } from './channels/chat';
import type { Outbox } from './channels/outbox';
import { ApiError } from './errors';
import type { Events } from './events';
import type { Limiters } from './limiters';
import type { Logger } from './log';
import type { RateLimit } from './rate-limit';
import type { Store } from './storage/store';
import type { TicketIndex, TicketRow } from './ticket-index';
import type { Tickets } from './tickets';

const HOUR_MS = 60 * 60_000;
/** How long a survey link works. */
export const SURVEY_LINK_TTL_MS = 28 * 24 * HOUR_MS;
/** How long after the first answer the customer may change it (a mis-click, a mail scanner's visit). */
export const ANSWER_CHANGE_MS = 24 * HOUR_MS;
/** Which channels' solved tickets are asked about until an admin says otherwise. */
export const DEFAULT_SURVEY_CHANNELS: SurveySettings = { email: true, chat: true, messaging: false, social: false, talk: false, web: false, api: false };
/** Tickets solved this recently are looked at again when a process starts (a solve it was told of just before it stopped). */
const CATCH_UP_MS = 24 * HOUR_MS;
const SECRET_NAME = 'survey-links';
/** The key, in place of a solve event, of a survey asked without one: a chat ticket's one survey in the widget, a demo ticket's. */
export const NO_EVENT = 0;

export type SurveyRow = typeof import('../drizzle/schema').satisfactionSurveys.$inferSelect;

// --- links ------------------------------------------------------------------------------------

const signature = (secret: string, payload: string) => createHmac('sha256', secret).update(`satisfaction-survey:${payload}`).digest('base64url');

/** The token of survey `surveyId`'s link, working until `expiresAt`: `<id>.<expiry>.<signature>`. */
export function signSurveyToken(secret: string, surveyId: string, expiresAt: number): string {
	const payload = `${surveyId}.${expiresAt}`;
	return `${payload}.${signature(secret, payload)}`;
}

/**
 * The survey a token names, when it was signed with `secret` and has not expired at `now`.
 * Anything altered (the id, the expiry, the signature) is `invalid`; the expiry is read only from
 * a token whose signature holds.
 */
export function verifySurveyToken(secret: string, token: string, now: number): { surveyId: string } | { refused: 'invalid' | 'expired' } {
	const match = /^([0-9A-Za-z]{1,64})\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(token);
	if (!match) return { refused: 'invalid' };
	const [, surveyId, expiry, given] = match as unknown as [string, string, string, string];
	const expected = Buffer.from(signature(secret, `${surveyId}.${expiry}`));
	if (!timingSafeEqual(expected, Buffer.from(given))) return { refused: 'invalid' };
	if (Number(expiry) <= now) return { refused: 'expired' };
	return { surveyId };
}

// --- surveys ----------------------------------------------------------------------------------

export interface SurveyDeps {
	store: Store;
	limiters: Limiters;
	index: TicketIndex;
	tickets: Tickets;
	outbox: Outbox;
	events: Events;
	logger: Logger;
	chats: Pick<Chats, 'onEnded'>;
}

/** What a survey mail says and where its links go. */
export interface SurveyMail {
	to: string;
	ticketId: string;
	subject: string;
	text: string;
	html: string;
}

/** Requests to the public survey endpoints (page and API) per client address a minute. */
export const SURVEY_REQUESTS_PER_MINUTE = 30;

export class Surveys {
	private secret: Promise<string> | null = null;
	private readonly requests: RateLimit;
	/** Where the links of survey mails point: the workspace's public origin (see `linksTo`). */
	private origin: string | null = null;

	constructor(private readonly deps: SurveyDeps) {
		this.requests = deps.limiters.rateLimit('survey-links', SURVEY_REQUESTS_PER_MINUTE, 60_000);
	}

	/** Counts a request to the public survey endpoints from `clientAddress`; 429 past the limit. */
	async limit(clientAddress: string): Promise<void> {
		const waitMs = await this.requests.take(clientAddress);
		if (waitMs > 0) throw new ApiError(429, 'rate_limited', `too many requests (at most ${SURVEY_REQUESTS_PER_MINUTE} a minute): try again in ${Math.ceil(waitMs / 1000)} s`);
	}

	/** The origin survey links point to, once the process knows it (ORIGIN, or where it listens). */
	linksTo(origin: string): void {
		this.origin = origin;
	}

	// --- settings -----------------------------------------------------------------------------

	async settings(): Promise<SurveySettings> {
		const { satisfactionSettings } = this.deps.store.tables;
		const rows = await this.deps.store.db.select().from(satisfactionSettings);
		const settings = { ...DEFAULT_SURVEY_CHANNELS };
		for (const row of rows) if ((CUSTOMER_CHANNELS as readonly string[]).includes(row.channel)) settings[row.channel as CustomerChannel] = row.enabled;
		return settings;
	}

	/** Switches surveys on or off for the channels named (an admin's change, recorded with who made it). */
	async updateSettings(change: Partial<SurveySettings>, actor: string): Promise<SurveySettings> {
		const { satisfactionSettings } = this.deps.store.tables;
		const entries = Object.entries(change) as [CustomerChannel, boolean][];
		await this.deps.store.transaction(async (tx) => {
			for (const [channel, enabled] of entries) {
				await tx.insert(satisfactionSettings).values({ channel, enabled }).onConflictDoUpdate({ target: satisfactionSettings.channel, set: { enabled } });
			}
			await this.deps.events.record({ actor, type: 'satisfaction.settings.changed', data: change });
		});
		return this.settings();
	}

	// --- asking -------------------------------------------------------------------------------

	/**
	 * Asks about each solve this node projects from now on (the index tells of rows once stored, on
	 * the node that stored the change). Returns the stop.
	 */
	follow(): () => void {
		const failed = (ticketId: string) => (error: unknown) => this.deps.logger.error({ err: error, ticketId }, 'asking for satisfaction failed');
		const stopSolves = this.deps.index.onChange((row, change) => {
			// A solve, not every later change of a solved ticket (a note, a tag): those ask nothing.
			if (row.status === 'solved' && change.previous?.status !== 'solved') void this.offer(row).catch(failed(row.id));
		});
		const stopChats = this.deps.chats.onEnded((ticketId) => void this.offerChat(ticketId).catch(failed(ticketId)));
		return () => {
			stopSolves();
			stopChats();
		};
	}

	/** Asks about the solves of the last day that no survey row decides yet (told of just before a stop). */
	async catchUp(now = Date.now()): Promise<number> {
		const { tickets } = this.deps.store.tables;
		const rows = await this.deps.store.db
			.select()
			.from(tickets)
			.where(and(eq(tickets.status, 'solved'), gte(tickets.updatedAt, now - CATCH_UP_MS)));
		let asked = 0;
		for (const row of rows) if (await this.offer(row)) asked++;
		return asked;
	}

	/** Decides the survey of the ticket's latest solve, once (see `ask`); true when this call asked. */
	async offer(row: TicketRow): Promise<boolean> {
		const solveEventId = await this.latestSolve(row.id);
		return solveEventId !== null && this.ask(row, solveEventId);
	}

	/** A chat ended: its ticket's survey is asked in the widget, unless the solve asked it already. */
	async offerChat(ticketId: string): Promise<boolean> {
		const row = await this.deps.index.get(ticketId);
		return row?.channel === 'chat' && this.ask(row, null);
	}

	/**
	 * Asks about a ticket recorded solved with `satisfaction: offered` among its fields (the demo
	 * data: it has no solve event, and its document is not written again), once.
	 */
	offerRecorded(row: TicketRow): Promise<boolean> {
		return this.ask(row, NO_EVENT, { fieldWritten: true });
	}

	/**
	 * Decides a survey once: the row is inserted under (ticket, solve event), or (ticket,
	 * NO_EVENT) for a chat, with the survey mail in the same transaction; then the ticket says it
	 * was asked (a chat's widget, told of the field, shows it). `solveEventId` null: a chat ended, unsolved.
	 */
	private async ask(row: TicketRow, solveEventId: number | null, { fieldWritten = false } = {}): Promise<boolean> {
		const asked = (await this.settings())[row.channel as CustomerChannel] ?? false;
		const chat = row.channel === 'chat';
		// A solve on a channel switched off is decided too (not asked), so switching it on later asks no old solves.
		const key = asked && chat ? NO_EVENT : solveEventId;
		if (key === null) return false;
		const { store, outbox } = this.deps;
		const { satisfactionSurveys: surveys } = store.tables;
		const [decided] = await store.db
			.select({ id: surveys.id })
			.from(surveys)
			.where(and(eq(surveys.ticketId, row.id), eq(surveys.solveEventId, key)))
			.limit(1);
		if (decided) return false;
		// Who the answer counts for, from the document: the index row follows it a moment later (a chat
		// served and ended at once would count for nobody).
		const current = await this.deps.tickets.read(row.id, SYSTEM).catch(() => null);
		const holder = current ? { groupId: current.groupId, assigneeId: current.assigneeId } : { groupId: row.groupId, assigneeId: row.assigneeId };
		const recipient = asked && !chat ? await outbox.recipientOf(row.id) : null;
		const via = !asked ? null : chat ? 'chat' : recipient ? 'email' : null;
		const id = newId();
		const now = Date.now();
		const made = await store.transaction(async (tx) => {
			const [inserted] = await tx
				.insert(surveys)
				.values({ id, ticketId: row.id, solveEventId: key, channel: row.channel, via, requesterId: row.requesterId, groupId: holder.groupId, assigneeId: holder.assigneeId, createdAt: now, expiresAt: now + SURVEY_LINK_TTL_MS })
				.onConflictDoNothing()
				.returning({ id: surveys.id });
			if (!inserted || !via) return !!inserted;
			// The customer is asked about the latest solve: an older survey still unanswered is over.
			await tx
				.update(surveys)
				.set({ expiresAt: now })
				.where(and(eq(surveys.ticketId, row.id), ne(surveys.id, id), isNull(surveys.rating), gt(surveys.expiresAt, now)));
			if (via === 'email') await outbox.enqueueSurvey(row.id, id, recipient!);
			return true;
		});
		if (!made || !via) return false;
		if (!fieldWritten) await this.deps.tickets.setServerFields(row.id, { satisfaction: 'offered', satisfactionComment: '' });
		await this.deps.events.record({ ticketId: row.id, actor: 'system', type: 'satisfaction.offered', data: { surveyId: id, via } });
		return true;
	}

	/** The event that recorded the ticket's latest solve, if its latest status change was to solved. */
	private async latestSolve(ticketId: string): Promise<number | null> {
		const { store } = this.deps;
		const { events } = store.tables;
		const field = store.engine === 'sqlite' ? sql`json_extract(${events.data}, '$.field')` : sql`${events.data}->>'field'`;
		const [latest] = await store.db
			.select({ id: events.id, data: events.data })
			.from(events)
			.where(and(eq(events.ticketId, ticketId), eq(events.type, 'field.changed'), sql`${field} = 'status'`))
			.orderBy(desc(events.id))
			.limit(1);
		return latest?.data.to === 'solved' ? latest.id : null;
	}

	/** The mail of survey `surveyId`, with its two links; null when there is nothing to send. */
	async mail(surveyId: string): Promise<SurveyMail | null> {
		const survey = await this.row(surveyId);
		if (!survey || survey.via !== 'email') return null;
		if (!this.origin) throw new Error('the workspace origin is not known yet: survey links cannot be written');
		const to = await this.deps.outbox.recipientOf(survey.ticketId);
		if (!to) throw new Error('the requester has no email address');
		const ticket = await this.deps.index.get(survey.ticketId);
		const token = signSurveyToken(await this.signingKey(), survey.id, survey.expiresAt);
		const link = (rating: SatisfactionRating) => `${this.origin}/satisfaction/${token}?rating=${rating}`;
		const about = ticket?.number ? `#${ticket.number} ${ticket.subject}` : (ticket?.subject ?? 'your request');
		const text = [
			`Your request "${about}" has been solved. How did we do?`,
			'',
			`Good: ${link('good')}`,
			`Bad: ${link('bad')}`,
			'',
			'One click records your answer; you may add a comment on the page it opens. The links work for 28 days.'
		].join('\n');
		const escape = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
		const button = (rating: SatisfactionRating, label: string, colour: string) =>
			`<a href="${escape(link(rating))}" style="display:inline-block;padding:10px 18px;margin-right:8px;border-radius:6px;background:${colour};color:#fff;text-decoration:none;font-weight:600">${label}</a>`;
		const html = `<p>Your request “${escape(about)}” has been solved. How did we do?</p><p>${button('good', '👍 Good', '#1f7a4d')}${button('bad', '👎 Bad', '#b3261e')}</p><p style="color:#555;font-size:13px">One click records your answer; you may add a comment on the page it opens. The links work for 28 days.</p>`;
		return { to, ticketId: survey.ticketId, subject: `How did we do? ${ticket?.number ? `[#${ticket.number}]` : ''}`.trim(), text, html };
	}

	// --- answering ----------------------------------------------------------------------------

	/** What the page of a survey link shows; never records anything (mail scanners open links). */
	async view(token: string): Promise<SurveyView> {
		const found = await this.fromToken(token);
		return 'refused' in found ? { state: found.refused } : this.viewOf(found.survey);
	}

	/** The customer answers through a survey link (the page, or the API). */
	async answerLink(token: string, answer: SurveyAnswer): Promise<SurveyView> {
		const found = await this.fromToken(token);
		if ('refused' in found) throw refusal(found.refused);
		return this.answer(found.survey, answer);
	}

	/** The survey a chat visitor's widget offers: the latest one asked in chat about ticket `ticketId`, if any. */
	async ofChat(ticketId: string): Promise<SurveyRow | null> {
		const { satisfactionSurveys: surveys } = this.deps.store.tables;
		const [survey] = await this.deps.store.db
			.select()
			.from(surveys)
			.where(and(eq(surveys.ticketId, ticketId), eq(surveys.via, 'chat')))
			.orderBy(desc(surveys.createdAt), desc(surveys.id))
			.limit(1);
		return survey ?? null;
	}

	/** What the widget shows of the chat's survey: null when none was asked. */
	async chatView(ticketId: string): Promise<SurveyView | null> {
		const survey = await this.ofChat(ticketId);
		return survey && (await this.viewOf(survey));
	}

	/** The visitor answers in the widget, about their own chat's ticket (the caller checked whose chat it is). */
	async answerChat(ticketId: string, answer: SurveyAnswer): Promise<SurveyView> {
		const survey = await this.ofChat(ticketId);
		if (!survey) throw new ApiError(404, 'no_survey', 'this chat has no satisfaction survey to answer');
		return this.answer(survey, answer);
	}

	/**
	 * Records an answer in one statement (of two at once, one wins): the first, or a change within
	 * ANSWER_CHANGE_MS of the first while the survey has not expired; then its ticket entry and fields.
	 */
	private async answer(survey: SurveyRow, answer: SurveyAnswer): Promise<SurveyView> {
		const now = Date.now();
		if (survey.expiresAt <= now) throw refusal('expired');
		const comment = answer.comment === undefined ? (answer.rating === survey.rating ? survey.comment : null) : answer.comment || null;
		if (survey.rating === answer.rating && (survey.comment ?? null) === comment) return this.viewOf(survey);
		const { store } = this.deps;
		const { satisfactionSurveys: surveys } = store.tables;
		const [recorded] = await store.db
			.update(surveys)
			.set({ rating: answer.rating, comment, answers: sql`${surveys.answers} + 1`, ratedAt: sql`COALESCE(${surveys.ratedAt}, ${now})`, changedAt: now })
			.where(and(eq(surveys.id, survey.id), gt(surveys.expiresAt, now), or(isNull(surveys.ratedAt), gt(surveys.ratedAt, now - ANSWER_CHANGE_MS))))
			.returning();
		if (!recorded) {
			const current = (await this.row(survey.id))!;
			if (current.expiresAt <= now) throw refusal('expired');
			throw new ApiError(409, 'already_answered', `this survey was answered "${current.rating}"; an answer can be changed for ${ANSWER_CHANGE_MS / HOUR_MS} hours only`);
		}
		await this.writeAnswer(recorded);
		return this.viewOf(recorded);
	}

	/** The ticket entry of the survey's latest answer and the fields it sets. */
	private async writeAnswer(survey: SurveyRow): Promise<void> {
		const { entry, fields } = answerOf(survey);
		const latest = (await this.latestOf(survey.ticketId))?.id === survey.id;
		// An answer to an older solve's survey is recorded in the ticket, but the fields say the latest's.
		await this.deps.tickets.appendWithFields(survey.ticketId, entry, latest ? fields : {});
		const rating = fields.satisfaction;
		await this.deps.events.record({ ticketId: survey.ticketId, actor: `customer:${survey.requesterId}`, type: 'satisfaction.answered', data: { surveyId: survey.id, rating, via: survey.via, changed: survey.answers > 1 } });
	}

	private async fromToken(token: string): Promise<{ survey: SurveyRow } | { refused: 'invalid' | 'expired' }> {
		const verified = verifySurveyToken(await this.signingKey(), token, Date.now());
		if ('refused' in verified) return verified;
		const survey = await this.row(verified.surveyId);
		// Links are mailed for email surveys only: a chat's survey is its visitor's alone.
		if (survey?.via !== 'email') return { refused: 'invalid' };
		// Expired early: the ticket was solved again and asked anew.
		if (survey.expiresAt <= Date.now()) return { refused: 'expired' };
		return { survey };
	}

	private async viewOf(survey: SurveyRow): Promise<SurveyView> {
		if (survey.expiresAt <= Date.now()) return { state: 'expired' };
		const ticket = await this.deps.index.get(survey.ticketId);
		return {
			state: survey.rating ? 'answered' : 'open',
			number: ticket?.number ?? null,
			subject: ticket?.subject ?? '',
			rating: survey.rating,
			comment: survey.comment ?? '',
			changeableUntil: survey.ratedAt === null ? null : Math.min(survey.ratedAt + ANSWER_CHANGE_MS, survey.expiresAt)
		};
	}

	private async row(surveyId: string): Promise<SurveyRow | null> {
		const { satisfactionSurveys: surveys } = this.deps.store.tables;
		const [survey] = await this.deps.store.db.select().from(surveys).where(eq(surveys.id, surveyId)).limit(1);
		return survey ?? null;
	}

	private async latestOf(ticketId: string): Promise<SurveyRow | null> {
		const { satisfactionSurveys: surveys } = this.deps.store.tables;
		const [survey] = await this.deps.store.db
			.select()
			.from(surveys)
			.where(and(eq(surveys.ticketId, ticketId), sql`${surveys.via} IS NOT NULL`))
			.orderBy(desc(surveys.createdAt), desc(surveys.id))
			.limit(1);
		return survey ?? null;
	}

	private signingKey(): Promise<string> {
		this.secret ??= serverSecret(this.deps.store, SECRET_NAME).catch((error: unknown) => {
			this.secret = null;
			throw error;
		});
		return this.secret;
	}

	// --- figures ------------------------------------------------------------------------------

	/** Today's answers (since the server's local midnight), per group and per agent the ticket had when solved. */
	async today(now = Date.now()): Promise<SatisfactionToday> {
		const since = new Date(now).setHours(0, 0, 0, 0);
		const { store } = this.deps;
		const { satisfactionSurveys: surveys } = store.tables;
		const counts = {
			good: sql<number>`count(*) FILTER (WHERE ${surveys.rating} = 'good')`.mapWith(Number),
			bad: sql<number>`count(*) FILTER (WHERE ${surveys.rating} = 'bad')`.mapWith(Number)
		};
		const answered = and(gte(surveys.ratedAt, since), inArray(surveys.rating, ['good', 'bad']));
		const groups = await store.db.select({ groupId: surveys.groupId, ...counts }).from(surveys).where(answered).groupBy(surveys.groupId);
		const agents = await store.db.select({ agentId: surveys.assigneeId, ...counts }).from(surveys).where(answered).groupBy(surveys.assigneeId);
		const total = (key: 'good' | 'bad') => groups.reduce((sum, g) => sum + g[key], 0);
		return { since, good: total('good'), bad: total('bad'), groups, agents };
	}

	// --- demo data ----------------------------------------------------------------------------

	/**
	 * Surveys of tickets recorded solved with their answers already in them (the demo data, see
	 * `answerOf`): the rows as if asked at the solve and answered now.
	 */
	async recordAnswered(surveys: readonly SurveyRow[]): Promise<void> {
		const { satisfactionSurveys } = this.deps.store.tables;
		if (surveys.length) await this.deps.store.db.insert(satisfactionSurveys).values([...surveys]).onConflictDoNothing();
	}
}

/**
 * The ticket entry of a survey's latest answer (named by the answer's count: a retry writes it
 * once, a change is another entry) and the ticket fields it sets.
 */
export function answerOf(survey: SurveyRow): { entry: Entry; fields: { satisfaction: SatisfactionRating; satisfactionComment: string } } {
	const rating = survey.rating!;
	const comment = survey.comment ?? '';
	const entry: Entry = {
		id: `csat.${survey.id}.${survey.answers}`,
		kind: 'event',
		channel: survey.via ?? 'email',
		visibility: 'internal',
		authorType: 'customer',
		authorId: survey.requesterId,
		body: `${survey.answers > 1 ? 'Changed the satisfaction rating to' : 'Rated the support'} ${rating === 'good' ? 'Good' : 'Bad'}${comment ? `: ${comment}` : '.'}`,
		createdAt: survey.changedAt ?? Date.now(),
		meta: { satisfaction: { surveyId: survey.id, rating, ...(comment ? { comment } : {}) } }
	};
	return { entry, fields: { satisfaction: rating, satisfactionComment: comment } };
}

const refusal = (why: 'invalid' | 'expired') =>
	why === 'expired'
		? new ApiError(410, 'link_expired', 'this survey link has expired')
		: new ApiError(404, 'invalid_link', 'this survey link is not valid: open the whole link from the message');
