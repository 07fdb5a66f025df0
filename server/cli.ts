/**
 * Tandem's command line: accounts, API tokens, tickets and maintenance, run against the database
 * in DATA_DIR whether or not the server is running (SQLite WAL, busy timeout). It never loads the
 * web app and never listens on a port (except `channel simulate`, a pretend network for demos).
 *
 *   npm run -s cli -- <command> [options]
 *
 * Exit codes: 0 success, 1 the command failed, 2 the command line is wrong (usage error).
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { z } from 'zod';
import { sha256Param } from '../src/lib/api/attachments';
import { createTicketSchema, phoneNumberSchema } from '../src/lib/api/schemas';
import { CUSTOMER_CHANNELS, PRIORITIES } from '../src/lib/ticket/schema';
import { AccountError } from './accounts';
import { PasswordPolicyError } from './auth/passwords';
import { ROLES, SYSTEM, type Role } from './auth/principal';
import { Simulator, channelSecret } from './channels/simulator';
import { CHANNEL_KINDS, type ChannelKind } from './channels/webhooks';
import { ConfigError, loadConfig, localUrl } from './config';
import { CopyError, copyToPostgres, shownUrl } from './copy-to-postgres';
import { isApiError } from './errors';
import type { Logger } from './log';
import { reindexAll, reindexTicket } from './reindex';
import { DEMO_PASSWORD, DEMO_USERS, seedIfEmpty } from './seed';
import { settleDocuments } from './lifecycle';
import { createServices, type Services } from './services';

const PROGRAM = 'npm run -s cli --';

/** A wrong command line: reported with a hint to the command's help, exit code 2. */
class UsageError extends Error {
	constructor(
		message: string,
		readonly command?: Command
	) {
		super(message);
	}
}

/** The command ran and failed: reported as one line, exit code 1. */
class CommandError extends Error {}

type OptionSpec = {
	type: 'string' | 'boolean';
	multiple?: boolean;
	short?: string;
	/** Placeholder shown in help, for string options. */
	arg?: string;
	help: string;
	required?: boolean;
};

type Values = Record<string, string | boolean | string[] | undefined>;

/** What a command does once its command line is checked: runs against the services. */
type Run = (services: Services) => Promise<number | void> | number | void;

interface Command {
	name: string;
	summary: string;
	/** Positional arguments, as shown in help (e.g. `<id-or-name>`). */
	positionals?: string[];
	options: Record<string, OptionSpec>;
	details?: string[];
	/** Checks the command line (throwing UsageError) before any database is opened. */
	prepare(values: Values, positionals: string[]): Run;
}

const out = (line = '') => process.stdout.write(line + '\n');
const err = (line: string) => process.stderr.write(line + '\n');

const str = (values: Values, name: string) => values[name] as string | undefined;
const list = (values: Values, name: string) => (values[name] as string[] | undefined) ?? [];

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
	if (!(allowed as readonly string[]).includes(value)) {
		throw new UsageError(`--${option}: "${value}" is not one of ${allowed.join(', ')}`);
	}
	return value as T;
}

/** Tandem's base URL from `--url`, checked; undefined without one (then HOST and PORT say where, see `localUrl`). */
function serverUrl(values: Values): string | undefined {
	const url = str(values, 'url')?.trim();
	if (!url) return undefined;
	let protocol = '';
	try {
		protocol = new URL(url).protocol;
	} catch {
		// reported below
	}
	if (protocol !== 'http:' && protocol !== 'https:') throw new UsageError(`--url: "${url}" is not an http(s) URL`);
	return url.replace(/\/+$/, '');
}

function phoneNumber(option: string, value: string): string {
	const parsed = phoneNumberSchema.safeParse(value);
	if (!parsed.success) throw new UsageError(`--${option}: "${value}": ${parsed.error.issues[0].message}`);
	return parsed.data;
}

/**
 * POSTs to the running server's Talk simulator (`/api/v1/talk/simulator<path>`) with a short-lived
 * API token scoped to talk, created in the database and discarded afterwards.
 */
async function simulator(services: Services, given: string | undefined, path: string, body?: unknown): Promise<{ id: string; ticketId: string; state: string }> {
	const url = given ?? localUrl(services.config);
	const token = await services.auth.tokens.create(`talk simulator ${new Date().toISOString()}`, ['talk']);
	const target = `${url}/api/v1/talk/simulator${path}`;
	try {
		let response: Response;
		try {
			response = await fetch(target, {
				method: 'POST',
				headers: { authorization: `Bearer ${token.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
				body: body === undefined ? undefined : JSON.stringify(body)
			});
		} catch (error) {
			const cause = (error as { cause?: { code?: string } }).cause;
			throw new CommandError(`could not reach ${url} (${cause?.code ?? (error as Error).message}): is the server running? (--url)`);
		}
		const answer = (await response.json().catch(() => null)) as { id: string; ticketId: string; state: string; error?: { message: string } } | null;
		if (!response.ok || !answer) throw new CommandError(`${target} answered ${response.status}: ${answer?.error?.message ?? 'no JSON'}`);
		return { id: answer.id, ticketId: answer.ticketId, state: answer.state };
	} finally {
		await services.auth.tokens.discard(token.id);
	}
}

/** A time for listings: ISO 8601 to the second, or `-`. */
const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

function table(header: string[], rows: string[][]): string[] {
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
	const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
	return [line(header), ...rows.map(line)];
}

const commands: Command[] = [
	{
		name: 'user add',
		summary: 'create a user (prints the user id)',
		options: {
			email: { type: 'string', arg: 'E', help: 'sign-in email address', required: true },
			name: { type: 'string', arg: 'N', help: 'display name', required: true },
			role: { type: 'string', arg: 'R', help: `one of ${ROLES.join(', ')}`, required: true },
			password: { type: 'string', arg: 'P', help: 'initial password (at least 8 characters)', required: true },
			group: { type: 'string', arg: 'G', multiple: true, help: 'a group to join, created if missing; repeatable' }
		},
		prepare(values) {
			const email = str(values, 'email')!.trim();
			if (!z.email().safeParse(email).success) throw new UsageError(`--email: "${email}" is not an email address`);
			const name = str(values, 'name')!.trim();
			if (!name) throw new UsageError('--name: must not be empty');
			const role = oneOf<Role>('role', str(values, 'role')!, ROLES);
			const groups = [...new Set(list(values, 'group').map((g) => g.trim()))];
			if (groups.some((g) => !g)) throw new UsageError('--group: must not be empty');
			const password = str(values, 'password')!;
			return async (services) => {
				const user = await services.accounts.createUser({ email, name, role, password, groups });
				out(user.id);
			};
		}
	},
	{
		name: 'token create',
		summary: 'create an API token for a bot or integration (shown once)',
		options: {
			name: { type: 'string', arg: 'N', help: 'a name to recognise the token by', required: true },
			channels: {
				type: 'string',
				arg: 'C,C',
				help: `comma-separated channels it may write on (default: all of ${CUSTOMER_CHANNELS.join(', ')})`
			},
			json: { type: 'boolean', help: 'print {"token", "id"} as one JSON line, nothing else' }
		},
		prepare(values) {
			const name = str(values, 'name')!.trim();
			if (!name) throw new UsageError('--name: must not be empty');
			let channels: string[] = [...CUSTOMER_CHANNELS];
			const given = str(values, 'channels');
			if (given !== undefined) {
				channels = [...new Set(given.split(',').map((c) => c.trim()).filter(Boolean))];
				if (!channels.length) throw new UsageError('--channels: name at least one channel');
				const unknown = channels.filter((c) => !(CUSTOMER_CHANNELS as readonly string[]).includes(c));
				if (unknown.length) {
					throw new UsageError(`--channels: unknown channel ${unknown.map((c) => `"${c}"`).join(', ')} (channels: ${CUSTOMER_CHANNELS.join(', ')})`);
				}
			}
			return async (services) => {
				const created = await services.auth.tokens.create(name, channels);
				if (values.json) {
					out(JSON.stringify({ token: created.token, id: created.id }));
					return;
				}
				out(`Created API token "${created.name}" (id ${created.id}) for channels: ${created.channels.join(', ')}`);
				out('');
				out(`  ${created.token}`);
				out('');
				out('Store it now: it will not be shown again.');
			};
		}
	},
	{
		name: 'token revoke',
		summary: 'revoke an API token by id or by name',
		positionals: ['<id-or-name>'],
		options: {},
		prepare(_values, positionals) {
			const target = positionals[0];
			return async (services) => {
				if (!(await services.auth.tokens.revoke(target))) throw new CommandError(`no live API token has the id or name "${target}"`);
				out(`Revoked API token "${target}".`);
			};
		}
	},
	{
		name: 'token list',
		summary: 'list API tokens (never their secrets)',
		options: { json: { type: 'boolean', help: 'print the list as one JSON array' } },
		prepare(values) {
			return async (services) => {
				const tokens = await services.auth.tokens.list();
				if (values.json) {
					out(JSON.stringify(tokens));
					return;
				}
				if (!tokens.length) {
					out('No API tokens.');
					return;
				}
				const rows = tokens.map((t) => [t.id, t.name, t.channels.join(','), time(t.createdAt), time(t.lastUsedAt), time(t.revokedAt)]);
				for (const line of table(['ID', 'NAME', 'CHANNELS', 'CREATED', 'LAST USED', 'REVOKED'], rows)) out(line);
			};
		}
	},
	{
		name: 'channel add',
		summary: 'add a messaging or social channel for signed webhooks (prints its id and secret, shown once)',
		options: {
			kind: { type: 'string', arg: 'K', help: `one of ${CHANNEL_KINDS.join(', ')}`, required: true },
			name: { type: 'string', arg: 'N', help: 'a unique name for the channel', required: true },
			'outbound-url': { type: 'string', arg: 'URL', help: "where agents' replies are POSTed (http or https)" },
			json: { type: 'boolean', help: 'print {"id", "secret", "kind", "name", "outboundUrl"} as one JSON line, nothing else' }
		},
		details: [
			'Inbound: POST /api/v1/channels/<id>/webhook, signed with the secret (see README, "Messaging webhooks").'
		],
		prepare(values) {
			const kind = oneOf<ChannelKind>('kind', str(values, 'kind')!, CHANNEL_KINDS);
			const name = str(values, 'name')!.trim();
			if (!name) throw new UsageError('--name: must not be empty');
			const outboundUrl = str(values, 'outbound-url')?.trim();
			if (outboundUrl !== undefined) {
				let protocol = '';
				try {
					protocol = new URL(outboundUrl).protocol;
				} catch {
					// reported below
				}
				if (protocol !== 'http:' && protocol !== 'https:') throw new UsageError(`--outbound-url: "${outboundUrl}" is not an http(s) URL`);
			}
			return async (services) => {
				if (await services.channels.exists(name)) throw new CommandError(`a channel named "${name}" exists already`);
				const created = await services.channels.create({ kind, name, outboundUrl });
				if (values.json) {
					out(JSON.stringify({ id: created.id, secret: created.secret, kind, name, outboundUrl: created.outboundUrl }));
					return;
				}
				out(`Created ${kind} channel "${name}" (id ${created.id}).`);
				out(`Webhook: POST /api/v1/channels/${created.id}/webhook`);
				out('Signing secret:');
				out('');
				out(`  ${created.secret}`);
				out('');
				out('Store it now: it will not be shown again.');
			};
		}
	},
	{
		name: 'channel list',
		summary: 'list messaging and social channels (never their secrets)',
		options: { json: { type: 'boolean', help: 'print the list as one JSON array' } },
		prepare(values) {
			return async (services) => {
				const channels = await services.channels.list();
				if (values.json) {
					out(JSON.stringify(channels));
					return;
				}
				if (!channels.length) {
					out('No channels.');
					return;
				}
				const rows = channels.map((c) => [c.id, c.kind, c.name, time(c.createdAt), c.outboundUrl ?? '-']);
				for (const line of table(['ID', 'KIND', 'NAME', 'CREATED', 'OUTBOUND URL'], rows)) out(line);
			};
		}
	},
	{
		name: 'channel simulate',
		summary: 'play a messaging or social network against Tandem, for demos and tests',
		options: {
			channel: { type: 'string', arg: 'ID', help: 'the channel id (its secret is read from the database)', required: true },
			url: { type: 'string', arg: 'URL', help: "Tandem's base URL (default: from HOST and PORT, http://127.0.0.1:3000 unless set)" },
			port: { type: 'string', arg: 'N', help: 'port to receive deliveries on, on 127.0.0.1 (default 0: any free port)' },
			from: { type: 'string', arg: 'H', help: 'the pretend customer\'s handle (default sim-customer)' },
			name: { type: 'string', arg: 'N', help: "the pretend customer's display name" },
			say: { type: 'string', arg: 'T', multiple: true, help: 'a message to send as the customer; repeatable, sent in order' },
			'listen-ms': { type: 'string', arg: 'MS', help: 'stop after this many milliseconds (default: run until Ctrl-C)' }
		},
		details: [
			'Prints one JSON line per event on stdout: {"listening": port} once the delivery server is up,',
			'{"sent": {ticketId, entryId}} for each --say, {"delivered": {eventId, to, text, ticketId}} for each',
			"signed delivery of an agent's reply (a bad signature gets 401). Exits 0 on SIGINT or SIGTERM.",
			"Deliveries only arrive if the channel's outbound URL points at this port, e.g.:",
			`  ${PROGRAM} channel add --kind social --name Chirp --outbound-url http://127.0.0.1:4100/`,
			`  ${PROGRAM} channel simulate --channel <id> --port 4100 --from robin --say 'Hello'`
		],
		prepare(values) {
			const channelId = str(values, 'channel')!.trim();
			if (!channelId) throw new UsageError('--channel: must not be empty');
			const url = serverUrl(values);
			const integer = (option: string, max: number) => {
				const given = str(values, option);
				if (given === undefined) return undefined;
				if (!/^\d+$/.test(given) || Number(given) > max) throw new UsageError(`--${option}: "${given}" is not an integer from 0 to ${max}`);
				return Number(given);
			};
			const port = integer('port', 65535) ?? 0;
			const listenMs = integer('listen-ms', 2 ** 31 - 1);
			const fromId = str(values, 'from')?.trim() ?? 'sim-customer';
			if (!fromId) throw new UsageError('--from: must not be empty');
			const name = str(values, 'name')?.trim();
			const messages = list(values, 'say');
			if (messages.some((m) => !m.trim())) throw new UsageError('--say: must not be empty');
			return async (services) => {
				const secret = await channelSecret(services.store, channelId);
				if (secret === undefined) throw new CommandError(`no channel has the id "${channelId}" (see \`${PROGRAM} channel list\`)`);
				let stop!: () => void;
				const stopped = new Promise<void>((resolve) => (stop = resolve));
				process.once('SIGINT', stop);
				process.once('SIGTERM', stop);
				const simulator = await Simulator.start({
					channelId,
					secret,
					url: url ?? localUrl(services.config),
					port,
					from: { id: fromId, ...(name && { name }) },
					onDelivery: (delivery) => out(JSON.stringify({ delivered: delivery }))
				});
				try {
					out(JSON.stringify({ listening: simulator.port }));
					for (const text of messages) out(JSON.stringify({ sent: await simulator.say(text) }));
					const timer = listenMs === undefined ? undefined : setTimeout(stop, listenMs);
					await stopped;
					clearTimeout(timer);
				} finally {
					process.off('SIGINT', stop);
					process.off('SIGTERM', stop);
					await simulator.close();
				}
			};
		}
	},
	{
		name: 'talk call',
		summary: 'make the phone ring: a simulated caller dials a Talk number through the running server',
		options: {
			from: { type: 'string', arg: 'NUMBER', help: "the caller's phone number, e.g. +15550142", required: true },
			to: { type: 'string', arg: 'NUMBER', help: 'the Talk number dialled (default: the first Talk number)' },
			name: { type: 'string', arg: 'N', help: "the caller's name, for a new customer" },
			url: { type: 'string', arg: 'URL', help: "the running server's base URL (default: from HOST and PORT, http://127.0.0.1:3000 unless set)" },
			json: { type: 'boolean', help: 'print {"id", "ticketId", "state"} as one JSON line, nothing else' }
		},
		details: [
			"The call rings every agent whose Talk console is open (the phone button in the workspace's top bar).",
			'It reaches the server with a short-lived API token scoped to talk, created in the database and deleted afterwards.'
		],
		prepare(values) {
			const from = phoneNumber('from', str(values, 'from')!);
			const to = values.to === undefined ? undefined : phoneNumber('to', str(values, 'to')!);
			const name = str(values, 'name')?.trim() || undefined;
			const url = serverUrl(values);
			return async (services) => {
				const call = await simulator(services, url, '/calls', { from, ...(to && { to }), ...(name && { name }) });
				out(values.json ? JSON.stringify(call) : `Ringing: call ${call.id} from ${from} on ticket ${call.ticketId}.`);
			};
		}
	},
	{
		name: 'talk hangup',
		summary: 'the simulated caller of a call hangs up (a ringing call ends as missed)',
		positionals: ['<call-id>'],
		options: {
			url: { type: 'string', arg: 'URL', help: "the running server's base URL (default: from HOST and PORT, http://127.0.0.1:3000 unless set)" },
			json: { type: 'boolean', help: 'print {"id", "ticketId", "state"} as one JSON line, nothing else' }
		},
		prepare(values, positionals) {
			const callId = positionals[0];
			const url = serverUrl(values);
			return async (services) => {
				const call = await simulator(services, url, `/calls/${encodeURIComponent(callId)}/hangup`);
				out(values.json ? JSON.stringify(call) : `Hung up: call ${call.id} is ${call.state}.`);
			};
		}
	},
	{
		name: 'ticket create',
		summary: "create a ticket from a customer's first message (prints the ticket id)",
		options: {
			subject: { type: 'string', arg: 'S', help: 'subject', required: true },
			email: { type: 'string', arg: 'E', help: "the requester's email address", required: true },
			name: { type: 'string', arg: 'N', help: "the requester's name" },
			channel: { type: 'string', arg: 'C', help: `where it came in: ${CUSTOMER_CHANNELS.join(', ')}`, required: true },
			body: { type: 'string', arg: 'B', help: 'the first message', required: true },
			priority: { type: 'string', arg: 'P', help: `${PRIORITIES.join(', ')} (default normal)` },
			tag: { type: 'string', arg: 'T', multiple: true, help: 'a tag; repeatable' },
			json: { type: 'boolean', help: 'print the created ticket as JSON' }
		},
		prepare(values) {
			const input: Record<string, unknown> = {
				subject: str(values, 'subject'),
				requester: { email: str(values, 'email'), ...(values.name !== undefined && { name: str(values, 'name') }) },
				channel: str(values, 'channel'),
				body: str(values, 'body')
			};
			if (values.priority !== undefined) input.priority = str(values, 'priority');
			if (values.tag !== undefined) input.tags = list(values, 'tag');
			const parsed = createTicketSchema.safeParse(input);
			if (!parsed.success) {
				const issue = parsed.error.issues[0];
				const field = issue.path.join('.');
				const option = { 'requester.email': 'email', 'requester.name': 'name' }[field] ?? field.replace(/^tags\.\d+$/, 'tag').replace(/^tags$/, 'tag');
				throw new UsageError(option ? `--${option}: ${issue.message}` : issue.message);
			}
			return async (services) => {
				const ticket = await services.tickets.create(parsed.data, SYSTEM);
				out(values.json ? JSON.stringify(ticket) : ticket.id);
			};
		}
	},
	{
		name: 'reindex',
		summary: 'rebuild the ticket index and the search index from the ticket documents',
		options: {},
		details: ['Safe while the server runs. A ticket that cannot be loaded is reported and skipped (exit code 1).'],
		prepare() {
			return async (services) => {
				const { reindexed, failed } = await reindexAll(services);
				for (const { id, error } of failed) err(`ticket ${id}: ${error.replace(/\s+/g, ' ')}`);
				out(`Reindexed ${reindexed} ticket${reindexed === 1 ? '' : 's'}${failed.length ? `; ${failed.length} failed` : ''}.`);
				return failed.length ? 1 : 0;
			};
		}
	},
	{
		name: 'repair',
		summary: 'make a damaged ticket loadable again from the log rows that can still be read',
		positionals: ['<ticket-id>'],
		options: {},
		details: [
			'Rows and a snapshot that cannot be read are moved to the ticket_quarantine table (kept, not deleted);',
			'the rest is folded into a new snapshot and the ticket is reindexed. Run it while the server is stopped',
			'or while nobody has the ticket open.'
		],
		prepare(_values, positionals) {
			const ticketId = positionals[0];
			return async (services) => {
				const report = await services.log.repair(ticketId);
				for (const q of report.quarantined) err(`set aside ${q.kind} ${q.seq}: ${q.error.replace(/\s+/g, ' ')}`);
				await reindexTicket(services, ticketId);
				out(`Repaired ticket ${ticketId}: ${report.kept} log row${report.kept === 1 ? '' : 's'} kept, ${report.quarantined.length} set aside.`);
			};
		}
	},
	{
		name: 'file get',
		summary: 'write a stored file (an attachment, a message kept aside as unparsed) to standard output',
		positionals: ['<sha256>'],
		options: {},
		details: [
			'Files are stored by their SHA-256: entries list their attachments with it, the event email.unparsed',
			'names the message kept aside. Read from the database on PostgreSQL, from DATA_DIR on SQLite.'
		],
		prepare(_values, [given]) {
			const parsed = sha256Param.safeParse(given);
			if (!parsed.success) throw new UsageError(`<sha256>: "${given}" is not ${parsed.error.issues[0]!.message}`);
			return async (services) => {
				const { files } = services.attachments;
				if ((await files.sizeOf(parsed.data)) === null) throw new CommandError(`no stored file has the SHA-256 ${parsed.data}`);
				for await (const bytes of files.read(parsed.data)) if (!process.stdout.write(bytes)) await once(process.stdout, 'drain');
			};
		}
	},
	{
		name: 'copy',
		summary: 'copy this installation (the SQLite file in DATA_DIR) into an empty PostgreSQL database',
		options: {
			to: { type: 'string', arg: 'URL', help: 'the new, empty database: postgres://user:password@host:5432/database', required: true }
		},
		details: [
			'Stop the server first: what it writes during the copy would be missing from it. Every table is copied',
			'in one transaction, then checked: row counts per table, and every ticket document loaded from both.',
			'Afterwards, start Tandem with DATABASE_URL set to the same URL. A database that has any table is refused.'
		],
		prepare(values) {
			const url = str(values, 'to')!.trim();
			let protocol = '';
			try {
				protocol = new URL(url).protocol;
			} catch {
				// reported below
			}
			if (protocol !== 'postgres:' && protocol !== 'postgresql:') throw new UsageError(`--to: "${url}" is not a postgres:// URL`);
			return async (services) => {
				await copyToPostgres(services.store, services.attachments.files, url, out);
				out(`Copied and checked. Start Tandem with DATABASE_URL=${shownUrl(url)} to use it.`);
			};
		}
	},
	{
		name: 'seed',
		summary: 'add demo users and tickets, if the database has no users yet',
		options: {},
		prepare() {
			return async (services) => {
				if (!(await seedIfEmpty(services))) {
					out('Skipped: the database already has users.');
					return;
				}
				out(`Seeded demo data. Demo logins (password "${DEMO_PASSWORD}"):`);
				for (const u of DEMO_USERS) out(`  ${u.role.padEnd(10)} ${u.email}`);
			};
		}
	}
];

function optionLines(command: Command): string[] {
	const entries = Object.entries(command.options).map(([name, o]) => {
		const flag = `--${name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
		return [flag, `${o.help}${o.required ? ' (required)' : ''}`];
	});
	entries.push(['--help', 'show this help']);
	const width = Math.max(...entries.map(([f]) => f.length));
	return entries.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`);
}

function synopsis(command: Command): string {
	const parts = [command.name, ...(command.positionals ?? [])];
	for (const [name, o] of Object.entries(command.options)) {
		const flag = `--${name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
		parts.push(o.required ? flag : `[${flag}]${o.multiple ? '...' : ''}`);
	}
	return parts.join(' ');
}

function commandHelp(command: Command): string {
	const lines = [`Usage: ${PROGRAM} ${synopsis(command)}`, '', `${command.summary[0].toUpperCase()}${command.summary.slice(1)}.`];
	if (command.details) lines.push('', ...command.details);
	lines.push('', 'Options:', ...optionLines(command));
	return lines.join('\n');
}

function generalHelp(prefix?: string): string {
	const shown = commands.filter((c) => !prefix || c.name.startsWith(prefix + ' '));
	const lines = [
		`Usage: ${PROGRAM} <command> [options]`,
		'',
		'Tandem on the command line. Works on the database in DATA_DIR (default ./data), whether or not the server is running.',
		'',
		'Commands:'
	];
	const width = Math.max(...shown.map((c) => c.name.length), 'help [command]'.length);
	for (const c of shown) lines.push(`  ${c.name.padEnd(width)}  ${c.summary}`);
	lines.push(`  ${'help [command]'.padEnd(width)}  show this help, or the help of one command`);
	for (const c of shown) {
		lines.push('', `${PROGRAM} ${synopsis(c)}`, ...optionLines(c).filter((l) => !l.trimStart().startsWith('--help ')));
	}
	lines.push('', `Run \`${PROGRAM} <command> --help\` for one command.`, 'Exit codes: 0 success, 1 the command failed, 2 usage error.');
	return lines.join('\n');
}

const GROUPS = [...new Set(commands.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]))];

/** Finds the command named by the leading words of `argv`; returns it and the rest. */
function resolve(argv: string[]): { command: Command; rest: string[] } | { help: string } {
	const [first, second] = argv;
	if (first === undefined || first === '--help' || first === '-h') return { help: generalHelp() };
	if (first === 'help') {
		const words = argv.slice(1).filter((w) => !w.startsWith('-'));
		if (!words.length) return { help: generalHelp() };
		const name = words.join(' ');
		if (GROUPS.includes(name)) return { help: generalHelp(name) };
		const command = commands.find((c) => c.name === name);
		if (!command) throw new UsageError(`unknown command "${name}"`);
		return { help: commandHelp(command) };
	}
	if (GROUPS.includes(first)) {
		if (second === undefined || second === '--help' || second === '-h') {
			if (second === undefined) throw new UsageError(`${first}: name a subcommand (${subcommands(first)})`);
			return { help: generalHelp(first) };
		}
		const command = commands.find((c) => c.name === `${first} ${second}`);
		if (!command) throw new UsageError(`unknown command "${first} ${second}" (${first} commands: ${subcommands(first)})`);
		return { command, rest: argv.slice(2) };
	}
	const command = commands.find((c) => c.name === first);
	if (!command) throw new UsageError(`unknown command "${first}"`);
	return { command, rest: argv.slice(1) };
}

const subcommands = (group: string) =>
	commands
		.filter((c) => c.name.startsWith(group + ' '))
		.map((c) => c.name.split(' ')[1])
		.join(', ');

/** Parses a command's options with util.parseArgs; a wrong option is a UsageError. */
function parseCommand(command: Command, args: string[]): { help: true } | { run: Run } {
	let parsed;
	try {
		parsed = parseArgs({
			args,
			options: {
				...Object.fromEntries(
					Object.entries(command.options).map(([name, o]) => [name, { type: o.type, multiple: o.multiple ?? false, ...(o.short && { short: o.short }) }])
				),
				help: { type: 'boolean', short: 'h' }
			},
			allowPositionals: true,
			strict: true
		});
	} catch (error) {
		if (!String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw error;
		// Node's messages are long ("Unknown option '--x'. To specify a positional…"): the first sentence.
		const message = (error as Error).message.split(/\.\s/)[0].replace(/\.$/, '');
		throw new UsageError(message.charAt(0).toLowerCase() + message.slice(1), command);
	}
	const values = parsed.values as Values;
	if (values.help) return { help: true };
	const expected = command.positionals ?? [];
	if (parsed.positionals.length > expected.length) {
		throw new UsageError(`unexpected argument "${parsed.positionals[expected.length]}"`, command);
	}
	if (parsed.positionals.length < expected.length) {
		throw new UsageError(`missing ${expected[parsed.positionals.length]}`, command);
	}
	const missing = Object.entries(command.options)
		.filter(([name, o]) => o.required && values[name] === undefined)
		.map(([name]) => `--${name}`);
	if (missing.length) throw new UsageError(`missing required option${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, command);
	try {
		return { run: command.prepare(values, parsed.positionals) };
	} catch (error) {
		if (error instanceof UsageError && !error.command) throw new UsageError(error.message, command);
		throw error;
	}
}

/** Command output owns stdout: logs go to stderr, warnings and worse by default. */
function cliLogger(): Logger {
	const level = process.env.LOG_LEVEL || 'warn';
	return pino({ level, base: { service: 'tandem-cli' } }, pino.destination({ dest: 2, sync: true }));
}

async function main(argv: string[]): Promise<number> {
	const resolved = resolve(argv);
	if ('help' in resolved) {
		out(resolved.help);
		return 0;
	}
	const { command, rest } = resolved;
	const parsed = parseCommand(command, rest);
	if ('help' in parsed) {
		out(commandHelp(command));
		return 0;
	}
	const config = loadConfig();
	const services = await createServices(config, cliLogger());
	try {
		return (await parsed.run(services)) ?? 0;
	} finally {
		// What the command wrote is projected and stored whole, and searchable, before it exits (also while a server runs).
		await settleDocuments(services);
		await services.search.follow.flush();
		await services.bus?.close();
		await services.limiters.close();
		await services.store.close();
	}
}

/** One line for any failure: the message, never a stack trace. */
function describe(error: unknown): { message: string; code: number } {
	if (error instanceof UsageError) {
		const hint = error.command ? `${PROGRAM} ${error.command.name} --help` : `${PROGRAM} --help`;
		return { message: `${error.message} (see \`${hint}\`)`, code: 2 };
	}
	if (error instanceof ConfigError) return { message: error.message.replace(/\n\s*/g, ' '), code: 1 };
	if (error instanceof CommandError || error instanceof CopyError || error instanceof AccountError || error instanceof PasswordPolicyError || isApiError(error)) {
		return { message: (error as Error).message, code: 1 };
	}
	if (error instanceof z.ZodError) {
		const issue = error.issues[0];
		return { message: `${issue.path.join('.') || 'input'}: ${issue.message}`, code: 1 };
	}
	const message = error instanceof Error ? error.message : String(error);
	return { message: message.replace(/\s*\n\s*/g, ' '), code: 1 };
}

try {
	process.exitCode = await main(process.argv.slice(2));
} catch (error) {
	const { message, code } = describe(error);
	err(`error: ${message}`);
	process.exitCode = code;
}
