/**
 * The gateway's own log as Traefik's static `log` section asks: `level`, `format` (`common`: Traefik's console
 * layout `2006-01-02T15:04:05Z07:00 INF message key=value`; `json`: `{"level":"info","time":…,"message":…}`, as
 * zerolog writes them) and `filePath` (appended to; stdout without one). `reopen()` reopens the file after a log
 * rotation moved it, which SIGUSR1 triggers as in Traefik.
 */
import { pino, type Logger } from 'pino';
import { REDACTED_PATHS } from '../../lib/logger.ts';
import type { StaticConfig } from '../config/static.ts';

const SHORT_LEVELS: Record<string, string> = { trace: 'TRC', debug: 'DBG', info: 'INF', warn: 'WRN', error: 'ERR', fatal: 'FTL' };
/** pino's own keys; everything else on a line is a field printed as key=value. */
const OWN_KEYS = new Set(['level', 'time', 'message', 'pid', 'hostname', 'name']);

export interface GatewayLog {
  logger: Logger;
  /** Reopens the log file (no-op on stdout). */
  reopen(): void;
  /** Writes what is buffered (before exit). */
  flush(): void;
}

/** Traefik's console layout, no colour: time, 3-letter level, message, then the fields. */
function commonLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  let line = `${String(entry.time)} ${SHORT_LEVELS[String(entry.level)] ?? '???'} ${typeof entry.message === 'string' ? entry.message : ''}`;
  for (const [key, value] of Object.entries(entry)) {
    if (OWN_KEYS.has(key)) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    line += ` ${key}=${/[\s"]/.test(text) ? JSON.stringify(text) : text}`;
  }
  return `${line}\n`;
}

/**
 * `otlp` (log.otlp, gateway/otlp-logs) receives every JSON line too: Traefik keeps the stdout or file output beside
 * the OTLP export. Without it, the destination is the file's or stdout's own, with no extra call per line.
 */
export function createGatewayLog(staticConfig: StaticConfig, extra: Record<string, unknown> = {}, otlp?: { write(json: string): void }): GatewayLog {
  const settings = staticConfig.log;
  const level = settings?.level === 'panic' ? 'fatal' : (settings?.level ?? 'error');
  const sonic = pino.destination({ dest: settings?.filePath ?? 1, append: true, mkdir: true, sync: false });
  const format = settings?.format ?? 'common';
  const local = format === 'json' ? sonic : { write: (json: string) => sonic.write(commonLine(json)) };
  const destination = otlp ? { write: (json: string) => { local.write(json); otlp.write(json); } } : local;
  const logger = pino(
    {
      level,
      base: extra,
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
  return {
    logger,
    reopen: () => {
      if (settings?.filePath) sonic.reopen();
    },
    flush: () => {
      try {
        sonic.flushSync();
      } catch {
        // Nothing written yet (sonic-boom throws while the file is still opening): nothing to lose.
      }
    },
  };
}
