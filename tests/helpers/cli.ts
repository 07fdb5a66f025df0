/** Runs the project's entry points (the CLI, the server) as separate processes, to completion. */
import { spawn } from 'node:child_process';
import { databaseEnv, entryArgs, ROOT } from './server';

export interface Result {
	code: number | null;
	stdout: string;
	stderr: string;
}

/**
 * Runs `entry` (as built: see entryArgs) with `env` on top of this process's; fails if it does not
 * exit on its own within 30 s (a handle left open, or a server that started).
 */
export function runScript(entry: 'server' | 'cli', args: string[], env: Record<string, string>): Promise<Result> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [...entryArgs(entry), ...args], {
			cwd: ROOT,
			env: { ...process.env, ...env },
			stdio: ['ignore', 'pipe', 'pipe']
		});
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
		child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			reject(new Error(`${[entry, ...args].join(' ')} did not exit:\n${stdout}\n${stderr}`));
		}, 30_000);
		child.once('error', reject);
		child.once('close', (code) => {
			clearTimeout(timer);
			resolve({ code, stdout, stderr });
		});
	});
}

/** The CLI (server/cli.ts) on `dataDir` (and its database: see databaseEnv), logging warnings and errors only. */
export async function runCli(dataDir: string, ...args: string[]): Promise<Result> {
	return runScript('cli', args, { DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...(await databaseEnv(dataDir)) });
}
