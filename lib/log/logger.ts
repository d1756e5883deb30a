import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs to stderr, so that stdout stays free for command output
 * (reports, the `--json` line).
 */
export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}
