/** Programs from the machine's packages that the local servers run: where they are, or which package to install. */
import fs from 'node:fs';
import path from 'node:path';

/** A program is not installed: the message names the Debian package that brings it. */
export class MissingPackage extends Error {
	constructor(program: string, debianPackage: string) {
		super(`${program} is not installed (Debian, Ubuntu: apt-get install -y ${debianPackage})`);
	}
}

/** `file` if it is there, else MissingPackage. */
export function installed(file: string, program: string, debianPackage: string): string {
	if (!fs.existsSync(file)) throw new MissingPackage(program, debianPackage);
	return file;
}

/** PostgreSQL's programs: Debian installs one directory per major version; the newest one is used. */
export function postgresBinDir(): string {
	const root = '/usr/lib/postgresql';
	const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
	if (!versions.length) throw new MissingPackage('PostgreSQL', 'postgresql');
	versions.sort((a, b) => Number(b) - Number(a));
	return path.join(root, versions[0]!, 'bin');
}

export const redisServerBinary = () => installed('/usr/bin/redis-server', 'Redis', 'redis-server');

export const nginxBinary = () => installed('/usr/sbin/nginx', 'nginx', 'nginx-light');
