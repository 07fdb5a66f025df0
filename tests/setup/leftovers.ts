/**
 * Run before every test file: whatever servers the file started and did not stop are killed when
 * it ends, so none runs on beside the next file in the same worker, and the data folders it made
 * are removed (a run would otherwise leave some 300 behind). Registered first, so it runs after
 * the file's own afterAll hooks (vitest runs them as a stack).
 */
import { afterAll } from 'vitest';
import { killLeftoverServers, removeTempDataDirs } from '../helpers/server';

afterAll(async () => {
	await killLeftoverServers();
	removeTempDataDirs();
});
