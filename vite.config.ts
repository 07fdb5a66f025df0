import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';
import { tandemDev } from './server/dev-plugin.ts';

export default defineConfig({
	plugins: [tandemDev(), sveltekit()],
	test: {
		include: ['tests/**/*.test.ts'],
		globalSetup: ['tests/setup/postgres.ts'],
		testTimeout: 60_000,
		hookTimeout: 120_000,
		pool: 'forks',
		fileParallelism: true,
		maxWorkers: 2
	}
});
