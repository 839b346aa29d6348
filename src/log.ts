import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines by default (for log collectors); readable lines when a person
 * watches a terminal. Every line carries a timestamp either way.
 */
export function createLogger(bindings: Record<string, unknown>): Logger {
  const level = process.env.VOYANDZ_LOG_LEVEL ?? 'info';
  const pretty = process.stdout.isTTY && process.env.VOYANDZ_LOG_FORMAT !== 'json';
  if (pretty) {
    return pino({
      level,
      base: bindings,
      transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard', ignore: 'hostname' } },
    });
  }
  return pino({ level, base: bindings, timestamp: pino.stdTimeFunctions.isoTime });
}
