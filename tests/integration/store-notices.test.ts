/**
 * Kept notices on both engines (server/notices.ts): a colleague keeps their newest MAX_KEPT, newest
 * listed first, and reads only those about tickets they may see now.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserPrincipal } from '../../server/auth/principal';
import { MAX_KEPT, Notices } from '../../server/notices';
import type { Store } from '../../server/storage/store';
import type { TicketRow } from '../../server/ticket-index';
import { MAX_NOTICES_LISTED } from '../../src/lib/api/notices';
import { ENGINES, openTestStore } from '../helpers/store';

const ann: UserPrincipal = { kind: 'user', id: 'ann', role: 'agent', name: 'Ann', email: 'ann@tandem.test', groupIds: ['support'] };
const ROWS = new Map<string, TicketRow>([
	['seen', { id: 'seen', groupId: 'support', assigneeId: null } as TicketRow],
	['elsewhere', { id: 'elsewhere', groupId: 'billing', assigneeId: null } as TicketRow]
]);

describe.each(ENGINES)('kept notices on %s', (engine) => {
	let store: Store;
	let notices: Notices;
	const stored = async () => Number((await store.all<{ n: number | string }>(sql`SELECT count(*) AS n FROM notices`))[0]!.n);

	beforeAll(async () => {
		store = await openTestStore(engine);
		await store.db.insert(store.tables.users).values({ id: 'ann', email: 'ann@tandem.test', name: 'Ann', role: 'agent', passwordHash: 'x', createdAt: 0 });
		notices = new Notices(store, { rowsOf: async (ids) => new Map(ids.flatMap((id) => (ROWS.has(id) ? [[id, ROWS.get(id)!] as const] : []))) });
	});
	afterAll(() => store?.close());

	it(`keeps a colleague's newest ${MAX_KEPT}, lists the newest ${MAX_NOTICES_LISTED} about tickets they may see, newest first`, async () => {
		// Every tenth about a ticket of another group; the last about a ticket that is gone.
		for (let i = 0; i < MAX_KEPT + 5; i++) await notices.keep('ann', 'follow', i % 10 === 0 ? 'elsewhere' : 'seen', { n: i });
		await notices.keep('ann', 'side', 'gone', { n: MAX_KEPT + 5 });
		expect(await stored()).toBe(MAX_KEPT);
		const listed = await notices.list(ann, true);
		const numbers = listed.map((notice) => notice.notice.n as number);
		// The newest MAX_NOTICES_LISTED rows, less those she may not see.
		const expected = Array.from({ length: MAX_NOTICES_LISTED }, (_, i) => MAX_KEPT + 5 - i).filter((n) => n <= MAX_KEPT + 4 && n % 10 !== 0);
		expect(numbers).toEqual(expected);
		expect(listed.every((notice) => notice.ticketId === 'seen' && notice.readAt === null)).toBe(true);
		expect(await notices.markRead(ann, [listed[0]!.id, 'not-hers'])).toBe(1);
		expect(await notices.markRead(ann, 'all')).toBe(MAX_KEPT - 1);
		expect(await notices.list(ann, true)).toEqual([]);
		expect((await notices.list(ann, false)).map((notice) => notice.notice.n)).toEqual(expected);
	});
});
