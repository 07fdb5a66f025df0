/**
 * Starting and stopping the process as a person does: a port another program holds ends the start
 * with one line naming the setting to change; stopping `npm start` stops the server.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runScript, type Result } from '../helpers/cli';
import { ROOT, tempDataDir, waitFor } from '../helpers/server';

/** A listener on a loopback port chosen by the OS, standing for another program holding it. */
async function holdPort(): Promise<net.Server> {
	const holder = net.createServer();
	await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
	return holder;
}

const portOf = (server: net.Server) => String((server.address() as net.AddressInfo).port);

function startWith(env: Record<string, string>): Promise<Result> {
	return runScript('server', [], { PORT: '0', HOST: '127.0.0.1', DATA_DIR: tempDataDir(), SEED: '0', LOG_LEVEL: 'warn', SMTP_PORT: '0', ...env });
}

/** The start failed with exit code 1 and one line on stderr naming `setting`, no stack trace. */
function expectOneLineNaming(result: Result, setting: string, port: string) {
	expect(result.code, result.stderr).toBe(1);
	const lines = result.stderr.trimEnd().split('\n');
	expect(lines, result.stderr).toHaveLength(1);
	expect(lines[0]).toContain(`${setting}=${port}`);
	expect(lines[0]).toMatch(/already in use/);
	expect(result.stderr + result.stdout).not.toMatch(/^\s+at /m);
}

describe('a taken port', () => {
	const holders: net.Server[] = [];
	afterEach(() => {
		for (const holder of holders.splice(0)) holder.close();
	});

	it('SMTP_PORT held by another program: exit 1 with one line naming SMTP_PORT', async () => {
		const holder = await holdPort();
		holders.push(holder);
		expectOneLineNaming(await startWith({ SMTP_PORT: portOf(holder) }), 'SMTP_PORT', portOf(holder));
	});

	it('PORT held by another program: exit 1 with one line naming PORT', async () => {
		const holder = await holdPort();
		holders.push(holder);
		expectOneLineNaming(await startWith({ PORT: portOf(holder) }), 'PORT', portOf(holder));
	});
});

describe('npm start', () => {
	it('SIGTERM to npm stops the server it started: npm exits and the port stops answering', async () => {
		const npm = spawn('npm', ['start'], {
			cwd: ROOT,
			env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: tempDataDir(), SEED: '0', LOG_LEVEL: 'info', SMTP_PORT: '0' },
			stdio: ['ignore', 'pipe', 'pipe']
		});
		let output = '';
		npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
		npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
		const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
		const url = await waitFor(() => /"url":"(http:[^"]+)","dataDir".*"msg":"listening"/.exec(output)?.[1], 'the server to listen', 120_000);
		expect((await fetch(`${url}/healthz`)).status).toBe(200);

		npm.kill('SIGTERM');
		await exited;
		await waitFor(() => fetch(`${url}/healthz`).then(() => false, () => true), 'the server to stop', 20_000);
		expect(output).toContain('"msg":"stopped"');
	}, 180_000);
});
