import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config';

describe('cluster configuration', () => {
	it('is one process without REDIS_URL', () => {
		expect(loadConfig({ DATABASE_URL: 'postgres://tandem@db/tandem' }).cluster).toBeNull();
	});

	it('makes a node of a cluster with REDIS_URL and DATABASE_URL, checking the log every CATCH_UP_MS', () => {
		const config = loadConfig({ DATABASE_URL: 'postgres://tandem@db/tandem', REDIS_URL: 'redis://cache:6379', CATCH_UP_MS: '2000' });
		expect(config.cluster).toEqual({ redisUrl: 'redis://cache:6379', catchUpMs: 2000 });
		expect(loadConfig({ DATABASE_URL: 'postgres://tandem@db/tandem', REDIS_URL: 'redis://cache:6379' }).cluster?.catchUpMs).toBe(5000);
	});

	it('refuses REDIS_URL without PostgreSQL, and a URL that is not Redis’s, naming the variable', () => {
		expect(() => loadConfig({ REDIS_URL: 'redis://cache:6379' })).toThrow(ConfigError);
		expect(() => loadConfig({ REDIS_URL: 'redis://cache:6379' })).toThrow(/REDIS_URL="redis:\/\/cache:6379": a cluster node keeps its record in PostgreSQL/);
		expect(() => loadConfig({ DATABASE_URL: 'postgres://tandem@db/tandem', REDIS_URL: 'http://cache' })).toThrow(/REDIS_URL="http:\/\/cache": a redis:\/\/ or rediss:\/\/ URL/);
		expect(() => loadConfig({ DATABASE_URL: 'postgres://tandem@db/tandem', REDIS_URL: 'redis://cache', CATCH_UP_MS: '5' })).toThrow(/CATCH_UP_MS="5"/);
	});
});

describe('metrics configuration', () => {
	it('serves metrics to nobody unless a token or a port is set', () => {
		expect(loadConfig({}).metrics).toEqual({ token: null, port: null, host: '127.0.0.1' });
		expect(loadConfig({ METRICS_TOKEN: 'a-long-enough-token', METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }).metrics).toEqual({ token: 'a-long-enough-token', port: 9464, host: '0.0.0.0' });
	});

	it('refuses a short token and a port out of range, naming the variable', () => {
		expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN="short": at least 16 characters/);
		expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT="70000"/);
	});
});
