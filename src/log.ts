import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines by default (for log collectors); readable lines when a person
 * watches a terminal (VOYANDZ_LOG_FORMAT: json or pretty forces one; the
 * CLI's --log-format sets it, VOYANDZ_LOG_LEVEL / --log-level the level). Every line carries a timestamp either way.
 */
export function createLogger(bindings: Record<string, unknown>): Logger {
  const level = process.env.VOYANDZ_LOG_LEVEL ?? 'info';
  const format = process.env.VOYANDZ_LOG_FORMAT;
  const pretty = format === 'pretty' || (process.stdout.isTTY && format !== 'json');
  if (pretty) {
    return pino({
      level,
      base: bindings,
      transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard', ignore: 'hostname' } },
    });
  }
  return pino({ level, base: bindings, timestamp: pino.stdTimeFunctions.isoTime });
}
