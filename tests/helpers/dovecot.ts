/**
 * Test harness: a real Dovecot IMAP server (Debian `dovecot-imapd`) in a temp directory on a free
 * loopback port, with one user per name given (password-file, plain text auth without TLS), as in
 * ../shared/STACK.md. Runs as root and drops to `dovenull`; `stop` ends it and removes the dir.
 * `append` puts a message into a folder through imapflow, as a mail server's delivery would.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { accepts, freePort } from './ports';
import { waitFor } from './server';

export interface Dovecot {
	host: string;
	port: number;
	/** Appends `raw` (whole RFC 5322 messages) to `folder` of `user`, in order, over one connection; resolves with the last UID. */
	append(user: string, raw: string | string[], folder?: string): Promise<number>;
	/** A signed-in client for looking into a user's mailbox; the caller logs it out. */
	client(user: string): Promise<ImapFlow>;
	/** Stops the server (`restart` starts it again on the same port, with the same mail). */
	stop(): Promise<void>;
	/** While stopped: drops the UID list and indexes of a user's mailbox, so it comes back with a new UIDVALIDITY. */
	renumber(user: string): void;
	restart(): Promise<void>;
	/** Stops it and removes its directory. */
	destroy(): Promise<void>;
}

export const DOVECOT_PASSWORD = 'pw-Kq81-imap';

export async function startDovecot(users: string[]): Promise<Dovecot> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-dovecot-'));
	fs.chmodSync(dir, 0o755);
	const port = await freePort();
	const mail = path.join(dir, 'mail');
	fs.mkdirSync(mail, { mode: 0o755 });
	execFileSync('chown', ['dovenull:dovenull', mail]);
	fs.writeFileSync(path.join(dir, 'users'), users.map((u) => `${u}:{PLAIN}${DOVECOT_PASSWORD}::::::\n`).join(''));
	const config = path.join(dir, 'dovecot.conf');
	fs.writeFileSync(
		config,
		`protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Refused sign-ins are answered at once, not after Dovecot's usual 2 s: tests wait for them.
auth_failure_delay = 0
first_valid_uid = 100
default_login_user = dovenull
default_internal_user = dovenull
mail_location = maildir:${mail}/%u/Maildir
passdb {
  driver = passwd-file
  args = ${dir}/users
}
userdb {
  driver = static
  args = uid=dovenull gid=dovenull home=${mail}/%u
}
service imap-login {
  inet_listener imap {
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
`
	);
	const start = async () => {
		execFileSync('dovecot', ['-c', config], { stdio: 'ignore' });
		await waitFor(() => accepts(port), `dovecot on port ${port}`);
	};
	const stop = async () => {
		try {
			execFileSync('dovecot', ['-c', config, 'stop'], { stdio: 'ignore' });
		} catch {
			return; // not running
		}
		await waitFor(async () => !(await accepts(port)), `dovecot to stop on port ${port}`);
	};
	await start();

	const client = async (user: string) => {
		const imap = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user, pass: DOVECOT_PASSWORD }, logger: false });
		await imap.connect();
		return imap;
	};
	return {
		host: '127.0.0.1',
		port,
		client,
		async append(user, raw, folder = 'INBOX') {
			const imap = await client(user);
			try {
				if (folder !== 'INBOX') await imap.mailboxCreate(folder).catch(() => {});
				let uid = 0;
				for (const message of Array.isArray(raw) ? raw : [raw]) {
					const appended = await imap.append(folder, message);
					if (!appended || !appended.uid) throw new Error('APPEND returned no UID');
					uid = appended.uid;
				}
				return uid;
			} finally {
				await imap.logout();
			}
		},
		stop,
		renumber(user) {
			const maildir = path.join(mail, user, 'Maildir');
			for (const file of fs.readdirSync(maildir)) if (file.startsWith('dovecot')) fs.rmSync(path.join(maildir, file), { recursive: true, force: true });
		},
		restart: start,
		async destroy() {
			await stop();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}
