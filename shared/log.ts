/**
 * The one logger factory. Every process logs pino JSON to stdout; components take a
 * child logger (`log.child({ component: 'proxy' })`). Nothing logs per request.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level: string = process.env['SHOAL_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
