import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';
import { tandemDev } from './server/dev-plugin.ts';

/**
 * Files of the postgres project that are about SQLite, or already cover both engines themselves,
 * so running them again on PostgreSQL would test nothing new.
 */
const ENGINE_SPECIFIC = [
	// Both engines in one run: the migrations compared, the store's cases on each, the copy from one to the other.
	'tests/integration/schema-parity.test.ts',
	'tests/integration/store.test.ts',
	'tests/integration/store-*.test.ts',
	'tests/integration/cli-copy.test.ts',
	// In-process over a SQLite file of its own (tests/helpers/routing.ts), no server.
	'tests/integration/routing.test.ts',
	// A PostgreSQL cluster of its own, stopped and started under load.
	'tests/integration/postgres-faults.test.ts',
	// Cluster nodes, on PostgreSQL whichever the project.
	// (cluster-script.test.ts: `npm run cluster`, with its own PostgreSQL, Redis and nginx.)
	'tests/integration/cluster*.test.ts',
	// The limiters against a Redis of their own, no server.
	'tests/integration/limiters.test.ts'
];

export default defineConfig({
	plugins: [tandemDev(), sveltekit()],
	test: {
		// One PostgreSQL per project (tests/setup/postgres.ts): stores on both engines in `sqlite`,
		// every server's database in `postgres`.
		globalSetup: ['tests/setup/postgres.ts'],
		setupFiles: ['tests/setup/leftovers.ts'],
		testTimeout: 60_000,
		hookTimeout: 120_000,
		pool: 'forks',
		// A worker runs file after file of its project without loading every module again (a third of
		// the suite's time went on imports). Test files keep no state in shared modules for this to
		// matter: servers, stores and browsers are made per file and stopped by it.
		isolate: false,
		fileParallelism: true,
		maxWorkers: 3,
		projects: [
			// Every test, servers on SQLite files (`npm run test:sqlite`). `npm test` runs both projects.
			{ extends: true, test: { name: 'sqlite', include: ['tests/**/*.test.ts'] } },
			// The integration and browser suites again, their servers on PostgreSQL: each data directory
			// gets its own database (tests/helpers/server.ts, `npm run test:postgres`).
			{
				extends: true,
				test: {
					name: 'postgres',
					include: ['tests/integration/**/*.test.ts', 'tests/browser/**/*.test.ts'],
					exclude: ENGINE_SPECIFIC,
					env: { TANDEM_TEST_ENGINE: 'postgres' }
				}
			}
		]
	}
});
