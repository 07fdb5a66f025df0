/**
 * IMAP mailboxes a support address's mail is fetched from (server/channels/imap.ts): the settings
 * as an admin writes them, and the view the admin page shows (never the password or token).
 */
import { z } from 'zod';

export const IMAP_TLS_MODES = ['tls', 'starttls', 'none'] as const;
export const IMAP_AUTH_KINDS = ['password', 'oauth2'] as const;
/** What happens to a message in the mailbox once its entry is stored. */
export const IMAP_AFTER_FETCH = ['seen', 'move', 'delete'] as const;

/** A folder name as IMAP takes it: no control characters, no LIST wildcards. */
const folderName = z
	.string()
	.trim()
	.min(1)
	.max(200)
	.regex(/^[^\p{Cc}*%]+$/u, 'no control characters, * or %');

export const imapMailboxInputSchema = z
	.object({
		host: z.union([z.hostname(), z.ipv4(), z.ipv6()], { error: 'a host name or IP address' }),
		port: z.coerce.number().int().min(1).max(65535),
		tls: z.enum(IMAP_TLS_MODES),
		username: z.string().min(1).max(320),
		auth: z.enum(IMAP_AUTH_KINDS),
		/** The password or OAuth2 access token; left out when editing, the saved one stays. */
		secret: z.string().min(1).max(8192).optional(),
		folder: folderName.default('INBOX'),
		afterFetch: z.enum(IMAP_AFTER_FETCH),
		moveTo: folderName.optional()
	})
	.refine((m) => m.afterFetch !== 'move' || (m.moveTo !== undefined && m.moveTo !== m.folder), {
		message: 'name a folder other than the one fetched from',
		path: ['moveTo']
	});
export type ImapMailboxInput = z.infer<typeof imapMailboxInputSchema>;

/** How the fetcher of one mailbox is doing, as the admin page shows it. */
export interface ImapMailboxStatus {
	state: 'connecting' | 'connected' | 'failing' | 'stopped';
	/** When the folder was last read to the end. */
	lastFetchAt: number | null;
	lastError: string | null;
	lastErrorAt: number | null;
}

/** A mailbox as the admin page shows it: the settings without the secret. */
export interface ImapMailboxView extends Omit<ImapMailboxInput, 'secret' | 'moveTo'> {
	address: string;
	moveTo: string | null;
	secretSet: true;
	status: ImapMailboxStatus;
}
