/**
 * Access is live: every open connection is re-checked with the one policy (ticketAccess) when
 * the principal's access may have changed (AccessChanges: a session ended, a user disabled or
 * regrouped, a token revoked, in this process or another) and when its ticket's group or
 * assignee changed. A connection that lost the ticket is closed with `access-revoked`; one left
 * with read access becomes read-only. Validate checks the same rule before each update is
 * stored, so nothing written after the change is kept, even in the instant before the close.
 */
import type { afterLoadDocumentPayload, Connection, Document, Extension, Hocuspocus, onChangePayload, onConfigurePayload } from '@hocuspocus/server';
import { readFields } from '../../src/lib/ticket';
import type { AccessChanges } from '../auth/access-changes';
import type { Auth, Credential } from '../auth';
import { ticketAccess } from '../auth/policy';
import { actorOf, type Principal } from '../auth/principal';
import { REFUSE, YWS_CLOSE } from '../close-reasons';
import type { Logger } from '../log';
import type { ConnectionContext } from './authenticate';

export interface LiveAccessSettings {
	auth: Auth;
	changes: AccessChanges;
	logger: Logger;
}

/** What a ticket's access depends on, as one comparable value. */
const scopeKey = (document: Document) => {
	const { channel, groupId, assigneeId } = readFields(document);
	return JSON.stringify([channel, groupId, assigneeId]);
};

export class LiveAccess implements Extension {
	priority = 900;
	private readonly scopes = new WeakMap<Document, string>();
	/** Re-checks run one after another, so an older one never applies its principals after a newer one. */
	private rechecks: Promise<void> = Promise.resolve();

	constructor(private readonly settings: LiveAccessSettings) {}

	async onConfigure({ instance }: onConfigurePayload) {
		this.settings.changes.subscribe(() => {
			this.rechecks = this.rechecks.then(() => this.recheckAll(instance)).catch((err) => this.settings.logger.error({ err }, 'access re-check failed'));
			return this.rechecks;
		});
	}

	async afterLoadDocument({ document }: afterLoadDocumentPayload) {
		this.scopes.set(document, scopeKey(document));
	}

	/** A change that moved the ticket (group, assignee, channel) re-checks who may keep it open. */
	async onChange({ document }: onChangePayload) {
		const scope = scopeKey(document);
		const before = this.scopes.get(document);
		this.scopes.set(document, scope);
		if (before === scope) return;
		for (const connection of document.getConnections()) this.enforce(connection, (connection.context as ConnectionContext).principal);
	}

	/**
	 * Every open connection's credential, resolved anew (once per credential), then its ticket. A
	 * connection opened while the credentials were resolved was authenticated after the change: left be.
	 */
	private async recheckAll(instance: Hocuspocus) {
		const keyOf = (credential: Credential) => `${credential.kind}:${credential.id}`;
		const credentials = new Map<string, Credential>();
		for (const connection of this.connections(instance)) {
			const { credential } = connection.context as ConnectionContext;
			if (credential) credentials.set(keyOf(credential), credential);
		}
		const principals = new Map<string, Principal | null>(
			await Promise.all([...credentials].map(async ([key, credential]) => [key, await this.settings.auth.recheck(credential)] as const))
		);
		for (const connection of this.connections(instance)) {
			const context = connection.context as ConnectionContext;
			if (!context.credential) this.enforce(connection, context.principal);
			else if (principals.has(keyOf(context.credential))) this.enforce(connection, principals.get(keyOf(context.credential)) ?? null);
		}
	}

	private *connections(instance: Hocuspocus) {
		for (const document of instance.documents.values()) yield* document.getConnections();
	}

	private enforce(connection: Connection, principal: Principal | null) {
		const context = connection.context as ConnectionContext;
		const access = principal && ticketAccess(principal, readFields(connection.document));
		if (principal) context.principal = principal;
		if (access === 'write') return;
		if (access === 'read') {
			connection.readOnly = true;
			return;
		}
		context.revoked = true;
		this.settings.logger.info({ documentName: connection.document.name, actor: actorOf(context.principal) }, 'access revoked: document closed');
		connection.close({ code: YWS_CLOSE.refused, reason: REFUSE.accessRevoked });
	}
}
