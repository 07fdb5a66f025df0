import { defineConfig } from 'drizzle-kit';

/** The PostgreSQL migrations, generated from drizzle/schema.pg.ts (derived from the SQLite schema). */
export default defineConfig({
	dialect: 'postgresql',
	schema: './drizzle/schema.pg.ts',
	out: './drizzle/migrations-pg'
});
