/** Structured logs: one JSON object per line on stdout (pino). */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
	return pino({ level, base: { service: 'tandem' }, timestamp: pino.stdTimeFunctions.isoTime });
}
