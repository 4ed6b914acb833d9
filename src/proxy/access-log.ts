/**
 * JSON access logs (pino): one line per HTTP request and one per L4 connection, with the peer services, outcome,
 * bytes and duration. Off unless the proxy is given a destination (Consul's proxy-defaults AccessLogs are off by
 * default too); never carries headers, so no token or cookie can reach it.
 */
import { pino, type Logger } from 'pino';

export interface AccessRecord {
  readonly direction: 'inbound' | 'outbound';
  readonly protocol: 'tcp' | 'http';
  /** inbound: the calling service; outbound: our own. */
  readonly downstream: string;
  /** inbound: our own service; outbound: the upstream target's service. */
  readonly upstream: string;
  readonly method?: string;
  readonly path?: string;
  readonly status?: number;
  /** allow / deny / error / no_healthy_upstream … */
  readonly outcome: string;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly durationMs: number;
  readonly endpoint?: string | undefined;
}

export type AccessLog = (record: AccessRecord) => void;

export const noAccessLog: AccessLog = () => {};

/** `-` writes to stdout, anything else is a file path (appended). */
export function createAccessLog(destination: string): { log: AccessLog; logger: Logger } {
  const dest = pino.destination({ dest: destination === '-' ? 1 : destination, sync: false, mkdir: true, append: true });
  const logger = pino({ base: undefined, messageKey: 'msg', timestamp: pino.stdTimeFunctions.isoTime }, dest);
  return { log: (record) => logger.info({ ...record, durationMs: Math.round(record.durationMs * 1000) / 1000 }, 'access'), logger };
}
