/**
 * pino loggers for every part. JSON by default; pretty when stdout is a terminal (or MESHGATE_LOG_FORMAT=pretty).
 * Secrets are redacted by path so a token never reaches a log line even when a whole request is logged.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export const REDACTED_PATHS = [
  'token', '*.token', 'secret', '*.secret', 'password', '*.password',
  'headers.authorization', 'headers["x-consul-token"]', 'req.headers.authorization', 'req.headers["x-consul-token"]',
  'SecretID', '*.SecretID',
];

export interface LoggerSettings {
  name: string;
  level?: string;
  pretty?: boolean;
  /** Write to this stream/fd instead of stdout (tests use it to capture output). */
  destination?: pino.DestinationStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const level = settings.level ?? process.env.MESHGATE_LOG_LEVEL ?? 'info';
  const pretty = settings.pretty ?? (process.env.MESHGATE_LOG_FORMAT === 'pretty' || (process.env.MESHGATE_LOG_FORMAT !== 'json' && process.stdout.isTTY === true));
  const options: LoggerOptions = { name: settings.name, level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (settings.destination) return pino(options, settings.destination);
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(options);
}

/** A logger that drops everything; for library use and tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
