/**
 * The one logger factory. Every process logs pino JSON to stdout; components take a
 * child logger (`componentLog(log, 'proxy')`, the same as `log.child({ component:
 * 'proxy' })`). Nothing logs per request: connection and auth events at info, link and
 * breaker transitions at info/warn, per-command detail never (docs/observability.md).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The `component` a line comes from, so a log query can rely on it: proxy (client
 * connections), upstream / breaker (worker links), acl (AUTH, users), http (admin API),
 * tls, proxy-primary (multi-process proxy), client-limits, manager, shard ...
 */
export type LogComponent = string;

export function createLogger(name: string, level: string = process.env['SHOAL_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}

/** A child logger tagged `{ component }` (plus any extra bindings). */
export function componentLog(log: Logger, component: LogComponent, bindings: Record<string, unknown> = {}): Logger {
  const parent = log.bindings();
  if (parent['component'] === undefined) return log.child({ component, ...bindings });
  // pino cannot drop a binding: a child of a component's logger would print two
  // `component` keys. A sibling with the parent's other bindings says it once.
  const { component: _parentComponent, ...rest } = parent;
  return pino({ level: log.level, base: { pid: process.pid, ...rest, component, ...bindings } });
}
