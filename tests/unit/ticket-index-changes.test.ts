/**
 * TicketIndex.onChange, the fan-out behind `GET /api/v1/stream`: listeners hear of a row only once
 * it is committed, never of one rolled back, and a broken listener cannot stop the others.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { initTicket } from '../../src/lib/ticket';
import type { Store } from '../../server/storage/store';
import { TicketIndex } from '../../server/ticket-index';
import { ENGINES, openTestStore } from '../helpers/store';

const CREATED_AT = Date.UTC(2025, 0, 1);

function ticket(subject: string): Y.Doc {
	const doc = new Y.Doc();
	initTicket(doc, { subject, status: 'new', priority: 'normal', assigneeId: null, groupId: null, requesterId: 'C1', channel: 'email', createdAt: CREATED_AT, tags: [] });
	return doc;
}

describe.each(ENGINES)('TicketIndex.onChange on %s', (engine) => {
	let store: Store;
	let index: TicketIndex;

	beforeEach(async () => {
		store = await openTestStore(engine);
		index = new TicketIndex(store, { recordMany: async () => {} });
	});
	afterEach(async () => {
		await store.close();
	});

	it('tells listeners of each row written, once its transaction has committed', async () => {
		const heard: string[] = [];
		index.onChange((row) => heard.push(row.subject));
		await index.project('T1', ticket('on its own'));
		expect(heard).toEqual(['on its own']);

		await index.transaction(async () => {
			await index.project('T2', ticket('inside a transaction'));
			expect(heard).toEqual(['on its own']);
		});
		expect(heard).toEqual(['on its own', 'inside a transaction']);

		await index.project('T1', ticket('on its own'));
		expect(heard).toHaveLength(2); // the same projection again: nothing written, nothing told
	});

	it('never tells of a row whose transaction rolled back', async () => {
		const heard: string[] = [];
		index.onChange((row) => heard.push(row.subject));
		await expect(
			index.transaction(async () => {
				await index.project('T1', ticket('rolled back'));
				throw new Error('failed after the projection');
			})
		).rejects.toThrow('failed after the projection');
		expect(heard).toEqual([]);
		expect(await index.get('T1')).toBeNull();
	});

	it('drops a listener that throws and keeps telling the others; unsubscribing removes a listener', async () => {
		const heard: string[] = [];
		const unsubscribe = index.onChange((row) => heard.push(row.id));
		index.onChange(() => {
			throw new Error('a broken stream');
		});
		expect(index.listenerCount()).toBe(2);
		await index.project('T1', ticket('one'));
		expect(heard).toEqual(['T1']);
		expect(index.listenerCount()).toBe(1);
		unsubscribe();
		expect(index.listenerCount()).toBe(0);
	});
});
