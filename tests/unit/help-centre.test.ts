/**
 * The help centre's storage and rendering: the FTS5 table reaches a database made before it
 * existed, stays in step with the articles, and the Markdown renderer never passes markup through.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../server/auth/principal';
import type { Events } from '../../server/events';
import { HelpCentre, plainText } from '../../server/help-centre';
import { renderMarkdown } from '../../server/markdown';
import { openSqliteStore } from '../../server/storage/store';
import { ROOT, tempDataDir } from '../helpers/server';

const MIGRATIONS = path.join(ROOT, 'drizzle/migrations');
/** What the help centre records is not under test here. */
const events = { record: async () => {} } as unknown as Events;

describe('help centre storage', () => {
	it('adds the full-text table to a database migrated before the help centre existed', async () => {
		// The migrations up to the one before the context panel's, as an existing installation has them.
		const older = tempDataDir('tandem-migrations-');
		fs.mkdirSync(path.join(older, 'meta'));
		const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS, 'meta/_journal.json'), 'utf8'));
		const upTo = journal.entries.findIndex((e: { tag: string }) => e.tag.endsWith('_context'));
		expect(upTo).toBeGreaterThan(0);
		journal.entries = journal.entries.slice(0, upTo);
		fs.writeFileSync(path.join(older, 'meta/_journal.json'), JSON.stringify(journal));
		for (const { tag } of journal.entries) fs.copyFileSync(path.join(MIGRATIONS, `${tag}.sql`), path.join(older, `${tag}.sql`));
		const file = path.join(tempDataDir(), 'tandem.sqlite');
		const sqlite = new Database(file);
		migrate(drizzle(sqlite), { migrationsFolder: older });
		sqlite.prepare("INSERT INTO customers (id, name, created_at) VALUES ('c1', 'Old Customer', 1)").run();
		sqlite.close();

		const store = openSqliteStore(file);
		try {
			const help = new HelpCentre(store, events);
			await help.create({ title: 'Reset your password', section: 'Account', tags: [], body: 'Use **Forgot password**.', status: 'published' }, SYSTEM);
			expect((await help.search('forgot')).map((a) => a.title)).toEqual(['Reset your password']);
			expect(store.client.prepare("SELECT organisation, notes, tags FROM customers WHERE id = 'c1'").get()).toEqual({ organisation: '', notes: '', tags: '[]' });
		} finally {
			await store.close();
		}
	});

	it('keeps the index in step: an edit replaces the words, a delete removes them', async () => {
		const store = openSqliteStore(path.join(tempDataDir(), 'tandem.sqlite'));
		try {
			const help = new HelpCentre(store, events);
			const article = await help.create({ title: 'Shipping', section: 'Orders', tags: ['delivery'], body: 'Parcels leave in a day.', status: 'published' }, SYSTEM);
			await help.update(article.id, { title: 'Shipping', section: 'Orders', tags: [], body: 'Couriers collect daily.', status: 'published' }, SYSTEM);
			expect(await help.search('parcels')).toEqual([]);
			expect(await help.search('couriers')).toHaveLength(1);
			expect(await help.search('delivery')).toEqual([]);
			await help.delete(article.id, SYSTEM);
			expect(await help.search('couriers')).toEqual([]);
			expect((store.client.prepare('SELECT count(*) AS n FROM help_articles_fts').get() as { n: number }).n).toBe(0);
		} finally {
			await store.close();
		}
	});
});

describe('Markdown', () => {
	it('renders what articles use', () => {
		const html = renderMarkdown('## Steps\n\n1. Open **My orders**\n2. Choose *Return*\n\n> Note: `RF-1`\n\nSee [refunds](/help/refunds) or [mail](mailto:help@example.com).');
		expect(html).toContain('<h3>Steps</h3>');
		expect(html.replace(/\n/g, '')).toContain('<ol><li>Open <strong>My orders</strong></li><li>Choose <em>Return</em></li></ol>');
		expect(html.replace(/\n/g, '')).toContain('<blockquote><p>Note: <code>RF-1</code></p></blockquote>');
		expect(html).toContain('<a href="/help/refunds" rel="noopener">refunds</a>');
		expect(html).toContain('<a href="mailto:help@example.com" rel="noopener">mail</a>');
	});

	it('never passes markup or script URLs through', () => {
		const html = renderMarkdown('<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) [y](//evil.example) [z](data:text/html,hi)\n\n```\n<b>code</b>\n```');
		expect(html).not.toMatch(/<script|<img|<b>|href="(javascript|data|\/\/)/);
		expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
		expect(html).toMatch(/<pre><code>&lt;b&gt;code&lt;\/b&gt;\s*<\/code><\/pre>/);
	});

	it('gives search the words a reader sees', () => {
		expect(plainText('## Reset\n\n- Choose **Forgot password** in [settings](/s), `now`. snake_case stays')).toBe('Reset\n\nChoose Forgot password in settings, now. snake_case stays');
	});
});
