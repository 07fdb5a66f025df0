/**
 * Run before every test file: whatever servers the file started and did not stop are killed when
 * it ends, so none runs on beside the next file in the same worker.
 */
import { afterAll } from 'vitest';
import { killLeftoverServers } from '../helpers/server';

afterAll(killLeftoverServers);
