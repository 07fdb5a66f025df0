/**
 * @mentions and following in real Chromium: typing `@bl` in an internal note lists the colleagues
 * who may see the ticket, the keyboard picks one, and the note sent mentions them; the mentioned
 * colleague's workspace (another browser context) shows the notification, which opens the ticket at
 * the note, and they now follow the ticket (the Follow button toggles); a mention made while a
 * colleague was away shows when they come back, and one dismissed stays dismissed; a supervisor
 * (who takes no offers) is told the same way, live and when back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { PASSWORD, prepare, type Fixture } from '../helpers/fixtures';
import { api, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { createTicket } from '../helpers/tickets';

let server: RunningServer;
let fx: Fixture;
let browser: BrowserSession;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: {
			alex: { role: 'agent', groups: ['Support'] },
			blair: { role: 'agent', groups: ['Support'] },
			blake: { role: 'agent', groups: ['Support'] },
			bluma: { role: 'agent', groups: ['Billing'] },
			sage: { role: 'supervisor' }
		},
		bots: { mail: ['email'] }
	});
	server = await startServer({ dataDir });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

/** A new ticket Alex has open, filed in Support, and Blake's workspace open on the list (its stream brings his notifications). */
async function alexOnTicketBlakeWatching(subject: string) {
	const ticket = await createTicket(server, fx.tokens.mail!.token, subject);
	const alex = (await browser.person(server.url, fx.users.alex!.email, PASSWORD)).page;
	const blake = (await browser.person(server.url, fx.users.blake!.email, PASSWORD)).page;
	for (const page of [alex, blake]) page.setDefaultTimeout(15_000);
	await blake.goto('/');
	await blake.getByRole('navigation', { name: 'Views' }).waitFor();
	await alex.goto(`/tickets/${ticket.id}`);
	await alex.getByText('Loading ticket…').waitFor({ state: 'detached' });
	// Filed in Support: Bluma (Billing) may not see it, so she is not offered.
	await alex.getByRole('combobox', { name: 'Group' }).selectOption({ label: 'Support' });
	return { ticket, alex, blake };
}

describe('@mentions', () => {
	it('picks a colleague from the keyboard, notifies them, opens the ticket at the note, and they follow it', async () => {
		const { ticket, alex, blake } = await alexOnTicketBlakeWatching('Parcel lost in transit');
		await alex.getByRole('button', { name: 'Internal note' }).click();
		await alex.getByRole('textbox', { name: 'Internal note text' }).click();
		await alex.keyboard.type('Can you chase the carrier, @bl');
		const list = alex.getByRole('listbox', { name: 'Colleagues to mention' });
		await list.waitFor();
		await expect(list.getByRole('option').allInnerTexts()).resolves.toEqual([expect.stringContaining('@blair'), expect.stringContaining('@blake')]);
		await screenshot(alex, 'mention-autocomplete');
		await alex.keyboard.press('ArrowDown');
		await expect(list.getByRole('option', { selected: true }).innerText()).resolves.toContain('@blake');
		await alex.keyboard.press('Enter');
		await list.waitFor({ state: 'detached' });
		await alex.keyboard.type('please?');
		await expect(alex.getByRole('textbox', { name: 'Internal note text' }).innerText()).resolves.toBe('Can you chase the carrier, @blake please?');
		await alex.keyboard.press('Control+Enter');

		// Stored with Blake's id, and only his.
		const note = await waitFor(async () => {
			const { body } = await api(server, fx.users.alex!.token).request('GET', `/api/v1/tickets/${ticket.id}`);
			return body.entries.find((e: { kind: string }) => e.kind === 'note');
		}, 'the note');
		expect(note.meta).toEqual({ mentions: [fx.users.blake!.id] });

		const notice = blake.getByRole('region', { name: 'Offers and notifications' }).getByRole('button', { name: /alex mentioned you in #\d+/ });
		await notice.waitFor();
		await screenshot(blake, 'mention-notification');
		await notice.click();
		await blake.waitForURL(`**/tickets/${ticket.id}#entry-${note.id}`);
		const shown = blake.locator(`.highlighted [data-entry-id="${note.id}"]`);
		await shown.waitFor();
		await expect(shown.innerText()).resolves.toContain('Can you chase the carrier, @blake please?');
		await screenshot(blake, 'mention-opened');

		// The mention made Blake a follower; the button says so, and toggles.
		const follow = blake.getByRole('button', { name: /^Follow/ });
		await waitFor(async () => (await follow.getAttribute('aria-pressed')) === 'true', 'Blake following');
		await expect(follow.getAttribute('title')).resolves.toBe('Followed by you');
		await follow.focus();
		await blake.keyboard.press('Enter');
		await waitFor(async () => (await follow.getAttribute('aria-pressed')) === 'false', 'Blake not following');
		await expect(follow.innerText()).resolves.toBe('Follow');
		await follow.click();
		await waitFor(async () => (await follow.getAttribute('aria-pressed')) === 'true', 'Blake following again');
		await expect(follow.innerText()).resolves.toMatch(/^Following\s*1$/);
	});

	it('mentions in an internal side conversation with the mouse; the notice opens that side conversation', async () => {
		const { ticket, alex, blake } = await alexOnTicketBlakeWatching('Oven door cracked');

		await alex.getByRole('button', { name: 'Start side conversation' }).first().click();
		const form = alex.getByRole('form', { name: 'Start side conversation' });
		await form.getByLabel('Subject').fill('Warranty?');
		await form.getByLabel('Channel').selectOption('internal');
		await form.getByRole('checkbox', { name: 'blair' }).check();
		await form.getByLabel(/message/i).fill('Is this still under warranty?');
		await form.getByRole('button', { name: 'Start side conversation' }).click();

		const box = alex.getByRole('textbox', { name: 'Reply in “Warranty?”' });
		await box.click();
		await alex.keyboard.type('Asking @BLA');
		const list = alex.getByRole('listbox', { name: 'Colleagues to mention' });
		await list.getByRole('option', { name: /@blake/ }).click();
		await expect(box.inputValue()).resolves.toBe('Asking @blake ');
		await alex.keyboard.type('too');
		await alex.getByRole('button', { name: 'Reply', exact: true }).click();

		const notice = blake.getByRole('region', { name: 'Offers and notifications' }).getByRole('button', { name: /alex mentioned you in #\d+/ });
		await notice.waitFor();
		await notice.click();
		await blake.waitForURL(`**/tickets/${ticket.id}#side-*`);
		await blake.getByText('Asking @blake too').waitFor();
		await expect(blake.getByRole('button', { name: /Warranty\?/ }).getAttribute('aria-expanded')).resolves.toBe('true');
	});

	it('shows a mention made while the colleague was away when they come back, and a dismissed one stays dismissed', async () => {
		const ticket = await createTicket(server, fx.tokens.mail!.token, 'Boxes crushed');
		const alex = api(server, fx.users.alex!.token);
		expect((await alex.request('PATCH', `/api/v1/tickets/${ticket.id}`, { groupId: fx.groups.Support })).status).toBe(200);
		// Blair has no workspace open anywhere.
		const note = await alex.request('POST', `/api/v1/tickets/${ticket.id}/entries`, { kind: 'note', channel: 'internal', body: '@blair photos are in the drive', meta: { mentions: [fx.users.blair!.id] } });
		expect(note.status).toBe(201);
		const blair = (await browser.person(server.url, fx.users.blair!.email, PASSWORD)).page;
		blair.setDefaultTimeout(15_000);
		await blair.goto('/');
		const bar = blair.getByRole('region', { name: 'Offers and notifications' });
		const notice = bar.getByRole('button', { name: /alex mentioned you in #\d+/ });
		await notice.waitFor();
		await expect(notice.innerText()).resolves.toContain('@blair photos are in the drive');
		await screenshot(blair, 'mention-kept');
		// Other notices may be in the bar (the new ticket's own): the mention's row has its Dismiss.
		await bar.locator('.notice').filter({ has: blair.getByRole('button', { name: /alex mentioned you in #\d+/ }) }).getByRole('button', { name: 'Dismiss' }).click();
		await notice.waitFor({ state: 'detached' });
		// Marked read on the server (Blair has other kept notices: the side conversation she was named in above).
		const keptMention = async () => ((await api(server, fx.users.blair!.token).request('GET', '/api/v1/notices')).body.notices as { notice: { entryId?: string }; readAt: number | null }[]).find((n) => n.notice.entryId === note.body.id);
		await waitFor(async () => (await keptMention())?.readAt, 'the notice marked read');
		// Another mention, on another ticket, while she is away again.
		await blair.goto('about:blank');
		const other = await createTicket(server, fx.tokens.mail!.token, 'Label smudged');
		expect((await alex.request('PATCH', `/api/v1/tickets/${other.id}`, { groupId: fx.groups.Support })).status).toBe(200);
		expect((await alex.request('POST', `/api/v1/tickets/${other.id}/entries`, { kind: 'note', channel: 'internal', body: '@blair one more', meta: { mentions: [fx.users.blair!.id] } })).status).toBe(201);
		await waitFor(async () => ((await api(server, fx.users.blair!.token).request('GET', '/api/v1/notices?unread=true')).body.notices as { ticketId: string }[]).some((n) => n.ticketId === other.id), 'the second kept notice');
		await blair.goto('/');
		// The unread one is back; the dismissed one is not.
		await bar.getByRole('button', { name: /alex mentioned you/ }).filter({ hasText: 'one more' }).waitFor();
		expect(await bar.getByRole('button', { name: /alex mentioned you/ }).count()).toBe(1);
	});

	it('tells a supervisor too: a mention live on the dashboard, opening the ticket at the note, and one kept while away', async () => {
		const ticket = await createTicket(server, fx.tokens.mail!.token, 'Refund twice');
		const alex = api(server, fx.users.alex!.token);
		expect((await alex.request('PATCH', `/api/v1/tickets/${ticket.id}`, { groupId: fx.groups.Support })).status).toBe(200);
		const sage = (await browser.person(server.url, fx.users.sage!.email, PASSWORD)).page;
		sage.setDefaultTimeout(15_000);
		await sage.goto('/supervisor');
		await sage.getByRole('navigation', { name: 'Views' }).waitFor();
		const bar = sage.getByRole('region', { name: 'Offers and notifications' });
		const live = await alex.request('POST', `/api/v1/tickets/${ticket.id}/entries`, { kind: 'note', channel: 'internal', body: '@sage may I refund the second charge?', meta: { mentions: [fx.users.sage!.id] } });
		expect(live.status).toBe(201);
		const notice = bar.getByRole('button', { name: /alex mentioned you in #\d+/ });
		await notice.waitFor();
		await expect(notice.innerText()).resolves.toContain('may I refund the second charge?');
		await screenshot(sage, 'supervisor-mention');
		await notice.click();
		await sage.waitForURL(`**/tickets/${ticket.id}#entry-${live.body.id}`);
		await notice.waitFor({ state: 'detached' });
		// Away, then back: the mention made meanwhile is there.
		await sage.goto('about:blank');
		expect((await alex.request('POST', `/api/v1/tickets/${ticket.id}/entries`, { kind: 'note', channel: 'internal', body: '@sage never mind, done', meta: { mentions: [fx.users.sage!.id] } })).status).toBe(201);
		await waitFor(async () => ((await api(server, fx.users.sage!.token).request('GET', '/api/v1/notices?unread=true')).body.notices as { ticketId: string }[]).some((n) => n.ticketId === ticket.id), 'the kept notice');
		await sage.goto('/supervisor');
		await bar.getByRole('button', { name: /alex mentioned you/ }).filter({ hasText: 'never mind, done' }).waitFor();
	});
});
