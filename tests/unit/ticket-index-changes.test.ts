/**
 * TicketIndex.onChange, the fan-out behind `GET /api/v1/stream`: listeners hear of a row only once
 * it is committed, never of one rolled back, and a broken listener cannot stop the others.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { initTicket } from '../../src/lib/ticket';
import { openDatabase, type Db } from '../../server/storage/database';
import { Events } from '../../server/events';
import { TicketIndex } from '../../server/ticket-index';
import { tempDataDir } from '../helpers/server';

const CREATED_AT = Date.UTC(2025, 0, 1);
let db: Db;
let index: TicketIndex;

beforeEach(() => {
	db = openDatabase(path.join(tempDataDir(), 'tandem.sqlite'));
	index = new TicketIndex(db, new Events(db));
});
afterEach(() => db.$client.close());

function ticket(subject: string): Y.Doc {
	const doc = new Y.Doc();
	initTicket(doc, { subject, status: 'new', priority: 'normal', assigneeId: null, groupId: null, requesterId: 'C1', channel: 'email', createdAt: CREATED_AT, tags: [] });
	return doc;
}

/** Lets queued microtasks (the after-commit announcements) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('TicketIndex.onChange', () => {
	it('tells listeners of each row written, once its transaction has committed', async () => {
		const heard: string[] = [];
		index.onChange((row) => heard.push(row.subject));
		index.project('T1', ticket('on its own'));
		expect(heard).toEqual(['on its own']);

		db.transaction(() => {
			index.project('T2', ticket('inside a transaction'));
			expect(heard).toEqual(['on its own']);
		});
		await settle();
		expect(heard).toEqual(['on its own', 'inside a transaction']);

		index.project('T1', ticket('on its own'));
		expect(heard).toHaveLength(2); // the same projection again: nothing written, nothing told
	});

	it('never tells of a row whose transaction rolled back', async () => {
		const heard: string[] = [];
		index.onChange((row) => heard.push(row.subject));
		expect(() =>
			db.transaction(() => {
				index.project('T1', ticket('rolled back'));
				throw new Error('failed after the projection');
			})
		).toThrow('failed after the projection');
		await settle();
		expect(heard).toEqual([]);
		expect(index.get('T1')).toBeNull();
	});

	it('drops a listener that throws and keeps telling the others; unsubscribing removes a listener', () => {
		const heard: string[] = [];
		const unsubscribe = index.onChange((row) => heard.push(row.id));
		index.onChange(() => {
			throw new Error('a broken stream');
		});
		expect(index.listenerCount()).toBe(2);
		index.project('T1', ticket('one'));
		expect(heard).toEqual(['T1']);
		expect(index.listenerCount()).toBe(1);
		unsubscribe();
		expect(index.listenerCount()).toBe(0);
	});
});
