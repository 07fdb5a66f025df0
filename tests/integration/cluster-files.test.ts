/**
 * Files across the nodes of a cluster (issue #15): two Tandem processes on one PostgreSQL database
 * and one Redis, each with a data directory of its own. A file uploaded on one node is downloaded
 * from the other and mailed from either; mail that cannot be parsed is kept where every node
 * reads it; neither data directory holds any of it. What was refused on one node still is: an
 * oversize upload (nothing stored), a hash that is malformed or unknown, a reader without access.
 * Its own database and Redis: it runs once, in the `sqlite` project.
 */
import fs from 'node:fs';
import path from 'node:path';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, DatabaseFileStore, sha256Of } from '../../server/files';
import { openPostgresStore, type Store } from '../../server/storage/store';
import { runScript } from '../helpers/cli';
import { readStoredFile, scratchFiles } from '../helpers/db';
import { startCluster, type TestCluster } from '../helpers/cluster';
import type { Fixture } from '../helpers/fixtures';
import { deliveriesOf, mailTo, startRelay, type Relay } from '../helpers/relay';
import { api, waitFor, type RunningServer } from '../helpers/server';
import { createTicket, fileInGroup } from '../helpers/tickets';

const MAX_BYTES = 1024 * 1024;
const SUPPORT = 'support@tandem.local';

const bytes = (size: number, seed: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) % 251));

/** Every file under `dir`, at any depth. */
function filesUnder(dir: string): string[] {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('files across the nodes of a cluster', () => {
	let cluster: TestCluster;
	let relay: Relay;
	let databaseUrl: string;
	let record: Store;
	let fx: Fixture;
	let a: RunningServer;
	let b: RunningServer;

	beforeAll(async () => {
		relay = await startRelay();
		cluster = await startCluster({
			nodes: 2,
			spec: { users: { ann: { role: 'agent', groups: ['Billing'] }, outsider: { role: 'agent', groups: ['Sales'] }, root: { role: 'admin' } }, bots: { mail: ['email'] } },
			env: { SMTP_RELAY_URL: `smtp://127.0.0.1:${relay.port}`, ATTACHMENT_MAX_BYTES: String(MAX_BYTES) }
		});
		({ fx, databaseUrl } = cluster);
		[a, b] = cluster.nodes as [RunningServer, RunningServer];
		record = await openPostgresStore(databaseUrl, { maxConnections: 2 });
	});
	afterAll(async () => {
		await cluster?.destroy();
		await record?.close();
		await relay?.close();
	});

	const upload = async (node: RunningServer, token: string, ticketId: string, name: string, content: Buffer) => {
		const response = await fetch(`${node.url}/api/v1/tickets/${ticketId}/attachments?name=${encodeURIComponent(name)}&type=application%2Fpdf`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
			body: new Uint8Array(content)
		});
		return { status: response.status, body: await response.json() };
	};
	const download = (node: RunningServer, token: string, ticketId: string, hash: string, headers: Record<string, string> = {}) =>
		fetch(`${node.url}/api/v1/tickets/${ticketId}/attachments/${hash}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
	const storedCount = async () => (await record.db.select({ n: count() }).from(record.tables.files))[0]!.n;
	/** A ticket of the Billing group: ann's, not the outsider's. */
	const billingTicket = async (subject: string) => {
		const ticket = await createTicket(a, fx.tokens.mail.token, subject, { email: 'val@example.com', name: 'Val' });
		await fileInGroup(a, ticket.id, fx.groups.Billing!, fx.users.root.token, fx.users.outsider.token);
		return ticket;
	};
	/** Neither node's data directory holds `content`, whole or in part, nor a scratch file. */
	const onNoNodesDisk = (content: Buffer) => {
		const sample = content.subarray(1000, 2000);
		for (const node of [a, b]) {
			expect(scratchFiles(node.dataDir), node.dataDir).toEqual([]);
			for (const file of filesUnder(node.dataDir)) expect(fs.readFileSync(file).includes(sample), file).toBe(false);
		}
	};

	it('serves from one node, byte for byte, what was uploaded on the other, and mails it from whichever node sends', async () => {
		const ticket = await billingTicket('Statement across nodes');
		const content = bytes(CHUNK_BYTES * 2 + 123, 1);
		const up = await upload(a, fx.users.ann.token, ticket.id, 'statement — März.pdf', content);
		expect(up.status).toBe(201);
		expect(up.body.sha256).toBe(sha256Of(content));
		// The reply listing it is written on the other node.
		const reply = await api(b, fx.users.ann.token).request('POST', `/api/v1/tickets/${ticket.id}/entries`, {
			kind: 'message',
			channel: 'email',
			visibility: 'public',
			body: 'Your statement is attached.',
			meta: { attachments: [up.body] }
		});
		expect(reply.status).toBe(201);

		const res = await download(b, fx.users.ann.token, ticket.id, up.body.sha256);
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toBe('application/pdf');
		expect(res.headers.get('content-disposition')).toBe(`attachment; filename="statement _ M_rz.pdf"; filename*=UTF-8''statement%20%E2%80%94%20M%C3%A4rz.pdf`);
		expect(res.headers.get('x-content-type-options')).toBe('nosniff');
		expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);
		const range = await download(a, fx.users.ann.token, ticket.id, up.body.sha256, { range: `bytes=${CHUNK_BYTES - 2}-${CHUNK_BYTES + 1}` });
		expect(range.status).toBe(206);
		expect(Buffer.from(await range.arrayBuffer()).equals(content.subarray(CHUNK_BYTES - 2, CHUNK_BYTES + 2))).toBe(true);

		const [sent] = await deliveriesOf(a, fx.users.ann.token, ticket.id).delivered(relay, reply.body.id);
		expect(sent!.mail.attachments).toHaveLength(1);
		expect(sent!.mail.attachments[0]!.filename).toBe('statement — März.pdf');
		expect(sent!.mail.attachments[0]!.content.equals(content)).toBe(true);
		onNoNodesDisk(content);
	});

	it('keeps mail it cannot parse in the shared store, where the other node and the CLI read it', async () => {
		const raw = `Subject: nobody sent this\r\nX-Trace: ${Date.now()}\r\n\r\n${'A message without a From header. '.repeat(100)}\r\n`;
		await mailTo(b, { envelope: { from: 'garbage@example.com', to: SUPPORT }, raw });
		const { events } = record.tables;
		const [event] = await waitFor(() => record.db.select({ data: events.data }).from(events).where(eq(events.type, 'email.unparsed')).then((rows) => (rows.length ? rows : null)), 'the unparsed mail');
		const { sha256, sender } = event!.data as { sha256: string; sender: string };
		expect(sender).toBe('garbage@example.com');
		expect((await readStoredFile(new DatabaseFileStore(record), sha256))?.toString('latin1').startsWith(raw)).toBe(true);
		// Node a's data directory, the database's copy: the message as received.
		const got = await runScript('cli', ['file', 'get', sha256], { DATA_DIR: a.dataDir, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
		expect(got.stderr).toBe('');
		expect(got.stdout.startsWith(raw)).toBe(true);
		onNoNodesDisk(Buffer.from(raw));
	});

	it('refuses what one node refused: an oversize upload (nothing stored), a malformed or unknown hash, a reader without access', async () => {
		const ticket = await billingTicket('Refusals across nodes');
		const before = await storedCount();
		const over = await upload(b, fx.users.ann.token, ticket.id, 'huge.bin', bytes(MAX_BYTES + 1, 2));
		expect(over.status).toBe(413);
		expect(over.body.error).toEqual({ code: 'attachment_too_large', message: 'a file may be at most 1 MB' });
		expect(await storedCount()).toBe(before);
		for (const node of [a, b]) expect(scratchFiles(node.dataDir)).toEqual([]);

		const content = Buffer.from('billing ledger, Billing only');
		const up = await upload(a, fx.users.ann.token, ticket.id, 'ledger.pdf', content);
		expect(up.status).toBe(201);
		const note = await api(a, fx.users.ann.token).request('POST', `/api/v1/tickets/${ticket.id}/entries`, {
			kind: 'note',
			channel: 'internal',
			visibility: 'internal',
			body: 'The ledger.',
			meta: { attachments: [up.body] }
		});
		expect(note.status).toBe(201);
		expect((await download(b, fx.users.ann.token, ticket.id, up.body.sha256)).status).toBe(200);
		expect((await download(b, fx.users.ann.token, ticket.id, 'not-a-hash')).status).toBe(400);
		expect((await download(b, fx.users.ann.token, ticket.id, up.body.sha256.toUpperCase())).status).toBe(400);
		expect((await download(b, fx.users.ann.token, ticket.id, sha256Of(Buffer.from('never uploaded')))).status).toBe(404);
		for (const node of [a, b]) {
			const refused = await download(node, fx.users.outsider.token, ticket.id, up.body.sha256);
			expect(refused.status).toBe(404);
			expect(Buffer.from(await refused.arrayBuffer()).includes(content)).toBe(false);
			expect((await download(node, '', ticket.id, up.body.sha256)).status).toBe(401);
		}
	});
});
