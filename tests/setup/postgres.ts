/**
 * One PostgreSQL for the whole run (initdb takes seconds): started before any test file, its
 * superuser URL given to the files through `inject('postgresUrl')`; each file or server makes its
 * own database there (tests/helpers/store.ts, tests/helpers/server.ts). Not installed: the run fails.
 */
import type { TestProject } from 'vitest/node';
import { startPostgres } from '../helpers/postgres';

declare module 'vitest' {
	export interface ProvidedContext {
		postgresUrl: string;
	}
}

export default async function setup(project: TestProject) {
	const postgres = await startPostgres();
	project.provide('postgresUrl', postgres.url());
	return () => postgres.destroy();
}
