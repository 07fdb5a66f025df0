/**
 * The realtime side: Hocuspocus with one extension per concern, and server-side access to the
 * live ticket documents (HTTP appends land in the same document peers are editing).
 */
import { Hocuspocus } from '@hocuspocus/server';
import { ticketDocumentName } from '../src/lib/ticket';
import type { Auth } from './auth';
import type { AccessChanges } from './auth/access-changes';
import type { Directory } from './auth/policy';
import type { Events } from './events';
import type { Bus } from './cluster/bus';
import { Authenticate } from './extensions/authenticate';
import { ClusterSync } from './extensions/cluster-sync';
import { LiveAccess } from './extensions/live-access';
import { Persist, type PersistSettings } from './extensions/persist';
import { Presence } from './extensions/presence';
import { Project } from './extensions/project';
import { FollowNotify, type FollowNotifySettings } from './extensions/follow-notify';
import { SideNotify } from './extensions/side-notify';
import { Validate, type ValidateSettings } from './extensions/validate';
import type { Logger } from './log';
import type { SearchFollow } from './search/follow';
import type { Metrics } from './metrics';
import type { TicketLog } from './storage/ticket-log';
import type { TicketIndex } from './ticket-index';
import type { DocumentAccess } from './tickets';

export interface CollabSettings {
	auth: Auth;
	accessChanges: AccessChanges;
	index: TicketIndex;
	log: TicketLog;
	events: Events;
	logger: Logger;
	compactAfter: number;
	maxUpdateBytes: number;
	directory: Directory & FollowNotifySettings['directory'];
	/** Followers and who tells them (server/followers.ts). */
	followers: FollowNotifySettings['followers'];
	customerName: FollowNotifySettings['customerName'];
	/** Where notices are kept for whoever was away (server/notices.ts). */
	notices: FollowNotifySettings['notices'];
	attachments: ValidateSettings['attachments'];
	/** The custom field definitions updates are checked against. */
	fields: ValidateSettings['fields'];
	/** ORIGIN: the only origin cookie-authenticated sockets may come from (null: the request's own). */
	origin: string | null;
	outbox?: PersistSettings['outbox'];
	/** A node of a cluster: its bus to the others, its name, how often it checks the log for what it missed. */
	cluster?: { bus: Bus; node: string; catchUpMs: number } | null;
	metrics?: Metrics;
	/** Keeps the search index in step with the documents this process loads. */
	search?: SearchFollow;
}

export function createCollab(s: CollabSettings) {
	let clusterSync: ClusterSync | null = null;
	const persist = new Persist({
		log: s.log,
		logger: s.logger,
		compactAfter: s.compactAfter,
		outbox: s.outbox,
		observe: s.metrics && {
			stored: (seconds) => {
				s.metrics!.updatesAccepted.inc();
				s.metrics!.ackSeconds.observe(seconds);
			},
			refused: (reason) => s.metrics!.updatesRefused.inc({ reason })
		},
		committed: (document, ticketId, seq, update) => clusterSync?.committed(document, ticketId, seq, update)
	});
	if (s.cluster) {
		clusterSync = new ClusterSync({
			...s.cluster,
			log: s.log,
			logger: s.logger,
			maxMessageBytes: s.maxUpdateBytes + 1024,
			loadedSeq: (document) => persist.loadedSeq(document),
			catchUpAfter: (document, seq, origin) => persist.catchUpAfter(document, seq, origin),
			learnOwners: (document, among) => persist.learnOwners(document, among),
			observe: s.metrics && { caughtUp: () => s.metrics!.catchUps.inc(), lag: (seconds) => s.metrics!.redisLagSeconds.observe(seconds) }
		});
	}
	const project = new Project({ index: s.index, logger: s.logger, delayMs: 200 });
	const sideNotify = new SideNotify({ index: s.index, directory: s.directory, notices: s.notices });
	const followNotify = new FollowNotify({ followers: s.followers, directory: s.directory, customerName: s.customerName, notices: s.notices, logger: s.logger });
	const hocuspocus = new Hocuspocus({
		name: 'tandem',
		quiet: true,
		extensions: [
			new Authenticate(s.auth, s.index, s.events, s.origin),
			new LiveAccess({ auth: s.auth, changes: s.accessChanges, logger: s.logger }),
			new Validate({
				maxUpdateBytes: s.maxUpdateBytes,
				sizes: persist,
				directory: s.directory,
				attachments: s.attachments,
				ownersOf: (document) => persist.ownersOf(document),
				fields: s.fields,
				events: s.events,
				logger: s.logger,
				catchUp: clusterSync ? (document) => clusterSync!.catchUpDocument(document) : undefined,
				refused: s.metrics && ((reason) => s.metrics!.updatesRefused.inc({ reason }))
			}),
			new Presence({ claimClient: (document, client, actor) => persist.claimClient(document, client, actor) }),
			persist,
			project,
			sideNotify,
			followNotify,
			...(s.search ? [s.search] : []),
			...(clusterSync ? [clusterSync] : [])
		]
	});

	// Server-side uses of a ticket's document take turns: a write is computed from the document under
	// the server's one Yjs client id, so it must be logged and applied before the next is computed
	// (writing is asynchronous now), or two writes would claim the same item ids.
	const turns = new Map<string, Promise<void>>();
	const documents: DocumentAccess = {
		async withDocument(ticketId, use) {
			const previous = turns.get(ticketId);
			let done!: () => void;
			const turn = new Promise<void>((resolve) => (done = resolve));
			const tail = (previous ?? Promise.resolve()).then(() => turn);
			turns.set(ticketId, tail);
			await previous;
			try {
				const connection = await hocuspocus.openDirectConnection(ticketDocumentName(ticketId), { actor: 'system' });
				try {
					return await use(connection.document!);
				} finally {
					// Keep the document warm for a burst of requests; the debounced store unloads it.
					await connection.disconnect({ unloadImmediately: false });
				}
			} finally {
				done();
				if (turns.get(ticketId) === tail) turns.delete(ticketId);
			}
		},
		async hold(ticketId) {
			const connection = await hocuspocus.openDirectConnection(ticketDocumentName(ticketId), { actor: 'system' });
			return { doc: connection.document!, release: () => connection.disconnect() };
		},
		loaded(ticketId) {
			return hocuspocus.documents.get(ticketDocumentName(ticketId)) ?? null;
		},
		commit(_ticketId, doc, update, actor, entries) {
			return persist.commit(doc, update, actor, { source: 'local', context: { actor } }, entries);
		}
	};

	return { hocuspocus, documents, project, sideNotify, followNotify };
}
