/**
 * Satisfaction surveys by email: a solved ticket's requester gets one survey mail per solve (not
 * two, also across a restart), with signed one-click links to a public page; an answer is recorded
 * as a ticket entry with the `satisfaction` field, counted on the supervisor dashboard, changeable
 * for a day; altered, expired and other surveys' links are refused; an admin switches surveys off
 * per channel. In chat, the widget asks once per chat ticket, and only the chat's own visitor answers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signSurveyToken } from '../../server/satisfaction';
import { MAX_SATISFACTION_COMMENT, type Entry } from '../../src/lib/ticket';
import { countRows, withStore } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import { sendPage } from '../helpers/pages';
import { api, servers, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { openEvents } from '../helpers/sse';
import { createTicket, type CreatedTicket } from '../helpers/tickets';

const pool = servers();
let server: RunningServer;
let fx: Fixture;
let dataDir: string;

beforeAll(async () => {
	dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent', groups: ['Support'] }, sam: { role: 'supervisor' }, root: { role: 'admin' } },
		bots: { mail: ['email'] }
	});
	server = await pool.boot(dataDir, SERVER_ENV);
}, 60_000);
afterAll(() => pool.cleanup());

/** Behind one trusted proxy, so that each test is a customer of its own address (the public endpoints are rate-limited per address). */
const SERVER_ENV = { TRUST_PROXY: '1' };
let customerAddress = 0;
beforeEach(() => void customerAddress++);
const fromCustomer = () => ({ 'x-forwarded-for': `10.0.0.${customerAddress}` });

const as = (who: keyof Fixture['users']) => api(server, fx.users[who]!.token);
/** The customer, signed in nowhere: the public survey API. */
const publicApi = () => {
	const plain = api(server);
	return { request: (method: string, route: string, body?: unknown) => plain.request(method, route, body, { headers: fromCustomer() }) };
};
/** The customer's browser opening a page without running it (or a mail scanner). */
const openPage = (url: string) => fetch(url, { headers: fromCustomer() });

/** An email ticket of ann's in Support, solved by her. */
async function solvedTicket(subject: string, requester = { email: 'maria@example.com', name: 'Maria Lopez' }): Promise<CreatedTicket> {
	const ticket = await createTicket(server, fx.tokens.mail.token, subject, requester);
	await setStatus(ticket.id, 'solved', { assigneeId: fx.users.ann.id, groupId: fx.groups.Support });
	return ticket;
}

async function setStatus(ticketId: string, status: string, more: Record<string, unknown> = {}) {
	const res = await as('ann').request('PATCH', `/api/v1/tickets/${ticketId}`, { ...more, status });
	expect(res.status).toBe(200);
}

/** The survey mails of ticket `number` in the outbox spool, oldest first. */
async function surveyMails(number: number) {
	const dir = path.join(dataDir, 'mail', 'outbox');
	const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.startsWith('survey-') && name.endsWith('.eml')) : [];
	const mails = await Promise.all(files.map(async (name) => ({ name, mail: await simpleParser(fs.readFileSync(path.join(dir, name))) })));
	return mails.filter(({ mail }) => mail.subject?.includes(`[#${number}]`)).sort((a, b) => a.name.localeCompare(b.name));
}

/** The one survey mail of a ticket's solve, once sent, with its links' token. */
async function awaitSurveyMail(ticket: CreatedTicket, nth = 1) {
	const mails = await waitFor(async () => {
		const found = await surveyMails(ticket.number);
		return found.length >= nth ? found : null;
	}, `survey mail ${nth} of #${ticket.number}`);
	const { mail } = mails[nth - 1]!;
	const good = /Good: (\S+)/.exec(mail.text ?? '')?.[1];
	const bad = /Bad: (\S+)/.exec(mail.text ?? '')?.[1];
	expect(good).toMatch(new RegExp(`^${server.url}/satisfaction/[^/?]+\\?rating=good$`));
	const token = new URL(good!).pathname.split('/').pop()!;
	expect(bad).toBe(`${server.url}/satisfaction/${token}?rating=bad`);
	return { mail, token, good: good!, bad: bad! };
}

const surveysOf = (ticketId: string) => countRows(dataDir, sql`SELECT count(*) AS n FROM satisfaction_surveys WHERE ticket_id = ${ticketId}`);
const surveyMailRows = (ticketId: string) => countRows(dataDir, sql`SELECT count(*) AS n FROM outbox WHERE ticket_id = ${ticketId} AND kind = 'survey'`);

async function ticketOf(ticketId: string) {
	const res = await as('ann').request('GET', `/api/v1/tickets/${ticketId}`);
	expect(res.status).toBe(200);
	return res.body as { satisfaction?: string; satisfactionComment?: string; entries: Entry[] };
}

const ratings = (entries: Entry[]) => entries.filter((e) => e.meta?.satisfaction);

async function todayFor(groupId: string) {
	const res = await as('sam').request('GET', '/api/v1/supervisor/dashboard');
	expect(res.status).toBe(200);
	const { satisfaction } = res.body;
	return {
		group: satisfaction.groups.find((g: { groupId: string | null }) => g.groupId === groupId) ?? { good: 0, bad: 0 },
		ann: satisfaction.agents.find((a: { agentId: string | null }) => a.agentId === fx.users.ann.id) ?? { good: 0, bad: 0 }
	};
}

describe('satisfaction surveys by email', () => {
	it('asks once when a ticket is solved; the link page records nothing by itself; Good records an entry, the field and the dashboard figure', async () => {
		const before = await todayFor(fx.groups.Support!);
		const ticket = await solvedTicket('Parcel arrived broken');
		const { mail, token, good } = await awaitSurveyMail(ticket);
		expect(mail.to).toMatchObject({ text: 'maria@example.com' });
		expect(mail.subject).toBe(`How did we do? [#${ticket.number}]`);
		expect(mail.html).toContain(`href="${good}"`);
		expect((await ticketOf(ticket.id)).satisfaction).toBe('offered');

		// A mail scanner fetching both links changes nothing: a GET only shows the survey.
		for (const link of [good, good.replace('rating=good', 'rating=bad')]) {
			const page = await openPage(link);
			expect(page.status).toBe(200);
			expect(await page.text()).toContain('How did we do?');
		}
		const view = await publicApi().request('GET', `/api/v1/satisfaction/${token}`);
		expect(view.body).toMatchObject({ state: 'open', number: ticket.number, subject: 'Parcel arrived broken', rating: null });
		expect(ratings((await ticketOf(ticket.id)).entries)).toEqual([]);

		const answered = await publicApi().request('POST', `/api/v1/satisfaction/${token}`, { rating: 'good', comment: 'Replaced in two days, thank you!' });
		expect(answered.status).toBe(200);
		expect(answered.body).toMatchObject({ state: 'answered', rating: 'good', comment: 'Replaced in two days, thank you!' });
		expect(answered.body.changeableUntil).toBeGreaterThan(Date.now());

		const after = await ticketOf(ticket.id);
		expect(after.satisfaction).toBe('good');
		expect(after.satisfactionComment).toBe('Replaced in two days, thank you!');
		const [entry, ...more] = ratings(after.entries);
		expect(more).toEqual([]);
		expect(entry).toMatchObject({ kind: 'event', channel: 'email', visibility: 'internal', authorType: 'customer', authorId: ticket.requesterId, meta: { satisfaction: { rating: 'good', comment: 'Replaced in two days, thank you!' } } });
		const today = await todayFor(fx.groups.Support!);
		expect(today.group).toMatchObject({ good: before.group.good + 1, bad: before.group.bad });
		expect(today.ann).toMatchObject({ good: before.ann.good + 1, bad: before.ann.bad });
		// The customer's history shows it.
		const history = await as('ann').request('GET', `/api/v1/customers/${ticket.requesterId}/history`);
		expect(history.body.interactions.find((i: { id: string }) => i.id === entry!.id)).toMatchObject({ kind: 'event', satisfaction: 'good' });
		// And the search language finds it by its answer.
		const found = async (q: string) => ((await as('ann').request('GET', `/api/v1/search?q=${encodeURIComponent(q)}`)).body.results as { id: string }[]).map((r) => r.id);
		expect(await found('satisfaction:good')).toContain(ticket.id);
		expect(await found('satisfaction:offered,bad')).not.toContain(ticket.id);
		expect(await found('-satisfaction:good')).not.toContain(ticket.id);
		const unsolved = await createTicket(server, fx.tokens.mail.token, 'Not solved yet');
		expect(await found('-satisfaction:good')).toContain(unsolved.id);
	});

	it('takes a changed answer within a day (the same answer again is no change), and refuses one after', async () => {
		const ticket = await solvedTicket('Wrong size sent');
		const { token } = await awaitSurveyMail(ticket);
		const before = await todayFor(fx.groups.Support!);
		expect((await publicApi().request('POST', `/api/v1/satisfaction/${token}`, { rating: 'good' })).status).toBe(200);
		expect((await publicApi().request('POST', `/api/v1/satisfaction/${token}`, { rating: 'good' })).status).toBe(200);
		expect(ratings((await ticketOf(ticket.id)).entries)).toHaveLength(1);

		const changed = await publicApi().request('POST', `/api/v1/satisfaction/${token}`, { rating: 'bad', comment: 'Second parcel was wrong too.' });
		expect(changed.body).toMatchObject({ state: 'answered', rating: 'bad', comment: 'Second parcel was wrong too.' });
		const after = await ticketOf(ticket.id);
		expect(after.satisfaction).toBe('bad');
		expect(ratings(after.entries).map((e) => (e.meta!.satisfaction as { rating: string }).rating)).toEqual(['good', 'bad']);
		// One answer counts once on the dashboard, as it stands now.
		const today = await todayFor(fx.groups.Support!);
		expect(today.group).toMatchObject({ good: before.group.good, bad: before.group.bad + 1 });

		// A day after the first answer it is final.
		await withStore(dataDir, (store) => store.run(sql`UPDATE satisfaction_surveys SET rated_at = rated_at - ${25 * 3_600_000} WHERE ticket_id = ${ticket.id}`));
		const late = await publicApi().request('POST', `/api/v1/satisfaction/${token}`, { rating: 'good' });
		expect(late.status).toBe(409);
		expect(late.body.error.code).toBe('already_answered');
		expect((await ticketOf(ticket.id)).satisfaction).toBe('bad');
		expect((await publicApi().request('GET', `/api/v1/satisfaction/${token}`)).body).toMatchObject({ state: 'answered', rating: 'bad' });
	});

	it('refuses altered, expired and made-up links with a clear answer and page', async () => {
		const ticket = await solvedTicket('Missing invoice');
		const { token } = await awaitSurveyMail(ticket);
		const other = await solvedTicket('Missing receipt', { email: 'li@example.com', name: 'Li Wei' });
		const { token: otherToken } = await awaitSurveyMail(other);
		const [id, expiry, signature] = token.split('.') as [string, string, string];
		const [otherId] = otherToken.split('.') as [string];
		const altered = [
			`${otherId}.${expiry}.${signature}`, // another ticket's survey under this link's signature
			`${id}.${Number(expiry) + 86_400_000}.${signature}`, // a longer life
			`${id}.${expiry}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`,
			'made-up',
			'x'.repeat(300)
		];
		for (const bad of altered) {
			const answer = await publicApi().request('POST', `/api/v1/satisfaction/${encodeURIComponent(bad)}`, { rating: 'bad' });
			expect(answer.status, bad).toBe(404);
			expect(answer.body.error.code).toBe('invalid_link');
			const page = await openPage(`${server.url}/satisfaction/${encodeURIComponent(bad)}?rating=bad`);
			expect(page.status).toBe(200);
			expect(await page.text()).toContain('This link is not valid');
		}
		// Signed with the server's own secret, but past its time.
		const secret = await withStore(dataDir, async (store) => (await store.all<{ secret: string }>(sql`SELECT secret FROM server_secrets WHERE name = 'survey-links'`))[0]!.secret);
		const expired = signSurveyToken(secret, id, Date.now() - 1);
		const late = await publicApi().request('POST', `/api/v1/satisfaction/${expired}`, { rating: 'bad' });
		expect(late.status).toBe(410);
		expect(late.body.error.code).toBe('link_expired');
		expect(await (await openPage(`${server.url}/satisfaction/${expired}`)).text()).toContain('This survey has closed');
		// Nothing was recorded on either ticket.
		for (const t of [ticket, other]) {
			const { satisfaction, entries } = await ticketOf(t.id);
			expect(satisfaction).toBe('offered');
			expect(ratings(entries)).toEqual([]);
		}
	});

	it('refuses a comment too long or not plain text, and an unknown rating', async () => {
		const ticket = await solvedTicket('Damaged box');
		const { token } = await awaitSurveyMail(ticket);
		for (const body of [{ rating: 'good', comment: 'x'.repeat(MAX_SATISFACTION_COMMENT + 1) }, { rating: 'good', comment: 'ring\u0007' }, { rating: 'great' }, { rating: 'good', ticketId: ticket.id }]) {
			const res = await publicApi().request('POST', `/api/v1/satisfaction/${token}`, body);
			expect(res.status).toBe(400);
			expect(res.body.error.code).toBe('invalid_field');
		}
		expect(ratings((await ticketOf(ticket.id)).entries)).toEqual([]);
		const longest = await publicApi().request('POST', `/api/v1/satisfaction/${token}`, { rating: 'good', comment: 'y'.repeat(MAX_SATISFACTION_COMMENT) });
		expect(longest.status).toBe(200);
	});

	it('asks again when a reopened ticket is solved again; the first link closes', async () => {
		const ticket = await solvedTicket('Still no tracking number');
		const first = await awaitSurveyMail(ticket);
		await setStatus(ticket.id, 'open');
		await setStatus(ticket.id, 'solved');
		const second = await awaitSurveyMail(ticket, 2);
		expect(second.token).not.toBe(first.token);
		expect((await publicApi().request('POST', `/api/v1/satisfaction/${first.token}`, { rating: 'bad' })).status).toBe(410);
		expect((await publicApi().request('POST', `/api/v1/satisfaction/${second.token}`, { rating: 'good' })).status).toBe(200);
		expect((await ticketOf(ticket.id)).satisfaction).toBe('good');
		expect(await surveysOf(ticket.id)).toBe(2);
	});

	it('asks once per solve: other changes of a solved ticket and a restart send nothing more', async () => {
		const ticket = await solvedTicket('Gift wrapping missing');
		await awaitSurveyMail(ticket);
		expect((await as('ann').request('PATCH', `/api/v1/tickets/${ticket.id}`, { priority: 'high', tags: ['gift'] })).status).toBe(200);
		expect((await as('ann').request('POST', `/api/v1/tickets/${ticket.id}/entries`, { kind: 'note', channel: 'internal', body: 'Refunded the wrapping.' })).status).toBe(201);
		await server.stop();
		server = await pool.boot(dataDir, SERVER_ENV);
		// The restarted process looks again at the day's solves, and finds this one decided.
		await waitFor(() => server.output().includes('satisfaction surveys caught up'), 'the catch-up');
		expect(await surveysOf(ticket.id)).toBe(1);
		expect(await surveyMailRows(ticket.id)).toBe(1);
		expect(await surveyMails(ticket.number)).toHaveLength(1);
		// The restarted process still asks about new solves, with links to where it listens now.
		await awaitSurveyMail(await solvedTicket('Late delivery'));
	});

	it('lets an admin switch surveys off per channel; a solve there asks nobody', async () => {
		for (const who of ['ann', 'sam'] as const) expect((await as(who).request('PUT', '/api/v1/satisfaction/settings', { email: false })).status).toBe(403);
		expect((await as('root').request('PUT', '/api/v1/satisfaction/settings', { email: false, teams: true })).status).toBe(400);
		const off = await as('root').request('PUT', '/api/v1/satisfaction/settings', { email: false });
		expect(off.body).toMatchObject({ email: false, chat: true, web: false });
		try {
			const ticket = await solvedTicket('No survey please');
			// The solve is decided (not asked) once the survey row says so.
			await waitFor(async () => (await surveysOf(ticket.id)) === 1, 'the solve decided');
			expect(await surveyMailRows(ticket.id)).toBe(0);
			expect((await ticketOf(ticket.id)).satisfaction).toBeUndefined();
		} finally {
			expect((await as('root').request('PUT', '/api/v1/satisfaction/settings', { email: true })).status).toBe(200);
		}
		expect((await as('root').request('GET', '/api/v1/satisfaction/settings')).body.email).toBe(true);

		// The same on the admin page: the boxes ticked are the channels asked.
		expect((await sendPage(server, 'POST', '/admin?/setSurveyChannels', fx.users.ann.token, { channels: 'web' })).status).toBe(403);
		const saved = await sendPage(server, 'POST', '/admin?/setSurveyChannels', fx.users.root.token, { channels: 'web' });
		expect(saved.status).toBe(200);
		expect((await as('root').request('GET', '/api/v1/satisfaction/settings')).body).toEqual({ email: false, chat: false, messaging: false, social: false, talk: false, web: true, api: false });
		expect((await sendPage(server, 'GET', '/admin', fx.users.root.token)).text).toContain('Satisfaction surveys');
		expect((await as('root').request('PUT', '/api/v1/satisfaction/settings', { email: true, chat: true, web: false })).status).toBe(200);
	});

	it('rate-limits the public endpoints per client address', async () => {
		let limited: { status: number; body: any } | null = null;
		for (let i = 0; i < 40 && !limited; i++) {
			const res = await publicApi().request('GET', '/api/v1/satisfaction/made-up');
			if (res.status === 429) limited = res;
			else expect(res.body).toEqual({ state: 'invalid' });
		}
		expect(limited?.body.error.code).toBe('rate_limited');
	});
});

describe('satisfaction surveys in chat', () => {
	/** A chat visitor's HTTP client (the widget's side): its token in X-Visitor-Token. */
	async function newVisitor() {
		const { status, body } = await api(server).request('POST', '/api/v1/visitor', undefined, { headers: fromCustomer() });
		expect(status).toBe(201);
		const token = body.token as string;
		return {
			request: (method: string, route: string, payload?: unknown) => api(server).request(method, `/api/v1/visitor${route}`, payload, { headers: { 'x-visitor-token': token } }),
			stream: () => openEvents(`${server.url}/api/v1/visitor/chat/stream?token=${encodeURIComponent(token)}`)
		};
	}

	async function chatting(name: string) {
		const visitor = await newVisitor();
		const started = await visitor.request('POST', '/chat', { name, message: `Hello, this is ${name}` });
		expect(started.status).toBe(201);
		const stream = await visitor.stream();
		await waitFor(() => stream.events.some((e) => e.name === 'chat'), 'the chat stream');
		return { visitor, stream, ticketId: started.body.ticketId as string };
	}

	it('asks in the widget when the agent ends the chat; only that visitor answers; solving the ticket asks no more', async () => {
		const { visitor, stream, ticketId } = await chatting('Ola');
		expect((await visitor.request('GET', '/chat/satisfaction')).body).toEqual({ survey: null });
		expect((await as('ann').request('POST', `/api/v1/tickets/${ticketId}/chat/serve`)).status).toBe(200);
		expect((await as('ann').request('POST', `/api/v1/tickets/${ticketId}/chat/end`)).status).toBe(200);
		await waitFor(() => stream.events.find((e) => e.name === 'survey'), 'the survey in the widget');
		expect((await visitor.request('GET', '/chat/satisfaction')).body.survey).toMatchObject({ state: 'open', rating: null });
		expect((await ticketOf(ticketId)).satisfaction).toBe('offered');

		// Someone else: no visitor token, another visitor without a chat, another visitor with a chat of their own.
		expect((await api(server).request('POST', '/api/v1/visitor/chat/satisfaction', { rating: 'bad' })).status).toBe(401);
		const stranger = await newVisitor();
		expect((await stranger.request('POST', '/chat/satisfaction', { rating: 'bad' })).body.error.code).toBe('no_chat');
		const other = await chatting('Pim');
		const othersAnswer = await other.visitor.request('POST', '/chat/satisfaction', { rating: 'bad' });
		expect(othersAnswer.status).toBe(404);
		expect(othersAnswer.body.error.code).toBe('no_survey');
		other.stream.close();
		expect((await visitor.request('POST', '/chat/satisfaction', { rating: 'good', comment: 'z'.repeat(MAX_SATISFACTION_COMMENT + 1) })).status).toBe(400);
		expect(ratings((await ticketOf(ticketId)).entries)).toEqual([]);

		const answered = await visitor.request('POST', '/chat/satisfaction', { rating: 'good', comment: 'Sorted in five minutes.' });
		expect(answered.body.survey).toMatchObject({ state: 'answered', rating: 'good', comment: 'Sorted in five minutes.' });
		const after = await ticketOf(ticketId);
		expect(after.satisfaction).toBe('good');
		expect(ratings(after.entries)).toMatchObject([{ channel: 'chat', authorType: 'customer', meta: { satisfaction: { rating: 'good' } } }]);

		// The solve that follows asks nothing more: one survey per chat ticket, and never by mail.
		await setStatus(ticketId, 'solved', { groupId: fx.groups.Support });
		await waitFor(async () => (await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE ticket_id = ${ticketId} AND type = 'field.changed'`)) > 0, 'the solve projected');
		await server.stop();
		server = await pool.boot(dataDir, SERVER_ENV);
		await waitFor(() => server.output().includes('satisfaction surveys caught up'), 'the catch-up');
		expect(await surveysOf(ticketId)).toBe(1);
		expect(await surveyMailRows(ticketId)).toBe(0);
		expect((await ticketOf(ticketId)).satisfaction).toBe('good');
		stream.close();
	});

	it('asks in the widget when the chat ticket is solved while the visitor is there', async () => {
		const { visitor, stream, ticketId } = await chatting('Quinn');
		await setStatus(ticketId, 'solved');
		await waitFor(() => stream.events.find((e) => e.name === 'survey'), 'the survey in the widget');
		expect((await visitor.request('GET', '/chat/satisfaction')).body.survey.state).toBe('open');
		expect((await visitor.request('POST', '/chat/satisfaction', { rating: 'bad' })).body.survey).toMatchObject({ rating: 'bad' });
		expect((await ticketOf(ticketId)).satisfaction).toBe('bad');
		stream.close();
	});
});
