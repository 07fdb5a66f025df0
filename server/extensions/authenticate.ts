/**
 * Who may open which ticket document: an API token (provider `token`) or the session cookie.
 * Supervisors are let in read-only; names that are not a known ticket are refused.
 * The cookie counts only on a socket opened by the workspace's own pages: a browser sends it with
 * an upgrade from any page of the same site (another port, a sibling subdomain), and always sends
 * that page's Origin with it, so a cookie upgrade whose Origin is another one is refused
 * (cross-site websocket hijacking). Without an Origin the client is not a browser, and holds the
 * cookie itself. Tokens are sent deliberately by their holder and count from anywhere.
 */
import type { Extension, onAuthenticatePayload } from '@hocuspocus/server';
import { parseTicketDocumentName, readFields } from '../../src/lib/ticket';
import type { Auth, Credential } from '../auth';
import { ticketAccess } from '../auth/policy';
import { actorOf, type Principal } from '../auth/principal';
import type { Events } from '../events';
import { REFUSE, refusal } from '../close-reasons';
import { workspaceOrigin } from '../forwarded';
import { isDatabaseUnavailable } from '../storage/unavailable';
import type { TicketIndex } from '../ticket-index';

export interface ConnectionContext {
	principal: Principal;
	/** What the connection was opened with, re-checked while it lasts (LiveAccess). */
	credential: Credential;
	/** Set once the connection lost the ticket: nothing it sends after that is applied. */
	revoked?: boolean;
}

export class Authenticate implements Extension {
	priority = 1000;

	constructor(
		private readonly auth: Auth,
		private readonly index: TicketIndex,
		private readonly events: Events,
		private readonly origin: string | null
	) {}

	async onAuthenticate(payload: onAuthenticatePayload): Promise<ConnectionContext> {
		try {
			return await this.admit(payload);
		} catch (error) {
			// A database that did not answer is no refusal of access: the client is told so, and tries again.
			if (isDatabaseUnavailable(error)) throw refusal(REFUSE.storage, 'the server could not check this connection: its database did not answer; try again');
			throw error;
		}
	}

	private async admit({ token, requestHeaders, documentName, connectionConfig, instance }: onAuthenticatePayload): Promise<ConnectionContext> {
		if (!token && !this.sameOrigin(requestHeaders)) throw refusal(REFUSE.crossOrigin, 'signed-in sockets must come from the workspace’s own pages');
		const authenticated = token ? await this.auth.authenticate(token) : await this.auth.fromCookieHeader(requestHeaders.get('cookie'));
		if (!authenticated) throw refusal(REFUSE.unauthorized, 'a valid token or session is required');
		const { principal, credential } = authenticated;
		const ticketId = parseTicketDocumentName(documentName);
		const row = ticketId ? await this.index.get(ticketId) : null;
		if (!row) throw refusal(REFUSE.unknownDocument, `${documentName} is not a ticket`);
		// A loaded document is ahead of the index, which is projected from it a moment later.
		const loaded = instance.documents.get(documentName);
		const access = ticketAccess(principal, loaded ? readFields(loaded) : row);
		if (!access) throw refusal(REFUSE.forbidden, 'you may not open this ticket');
		if (access === 'read') {
			connectionConfig.readOnly = true;
			await this.events.record({ ticketId: row.id, actor: actorOf(principal), type: 'ticket.viewed', data: { readOnly: true } });
		}
		return { principal, credential };
	}

	private sameOrigin(headers: Headers): boolean {
		const origin = headers.get('origin');
		return origin === null || origin === workspaceOrigin(headers, this.origin);
	}
}
