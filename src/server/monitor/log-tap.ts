/**
 * Tees a pino logger's output to monitor subscribers (see README.md). pino exposes its destination as
 * `logger[pino.symbols.streamSym]`, and child loggers reach it through their prototype, so replacing it on the
 * server's root logger covers every part's child logger, created before or after.
 */
import { pino, type Logger } from 'pino';

/** hclog's levels, lowest first, and pino's numeric level each starts at. */
export const MONITOR_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 } as const;
export type MonitorLevel = keyof typeof MONITOR_LEVELS;

export interface LogLine {
  level: number;
  time: number;
  msg: string;
  module: string;
  fields: Record<string, unknown>;
}

type Subscriber = (line: LogLine) => void;

const taps = new WeakMap<object, LogTap>();

export class LogTap {
  private readonly subscribers = new Set<Subscriber>();

  /** The tap on `logger`'s destination, installed on first use. */
  static of(logger: Logger): LogTap {
    const existing = taps.get(logger);
    if (existing) return existing;
    const tap = new LogTap();
    const sym = pino.symbols.streamSym as unknown as keyof Logger;
    const destination = logger[sym] as unknown as { write(chunk: string): unknown } | undefined;
    if (destination && typeof destination.write === 'function') {
      const tee = new Proxy(destination, {
        get(target, prop, receiver) {
          if (prop === 'write') {
            return (chunk: string) => {
              tap.publish(chunk);
              return target.write(chunk);
            };
          }
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      (logger as unknown as Record<symbol, unknown>)[sym as unknown as symbol] = tee;
    }
    taps.set(logger, tap);
    return tap;
  }

  subscribe(fn: Subscriber): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  private publish(chunk: string): void {
    if (this.subscribers.size === 0) return;
    for (const text of String(chunk).split('\n')) {
      if (text === '') continue;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = { level: 30, time: Date.now(), msg: text };
      }
      const { level, time, msg, name, part, pid: _pid, hostname: _host, ...fields } = parsed;
      const line: LogLine = {
        level: typeof level === 'number' ? level : 30,
        time: typeof time === 'number' ? time : Date.now(),
        msg: typeof msg === 'string' ? msg : '',
        module: [name, part].filter((x) => typeof x === 'string' && x !== '').join('.'),
        fields,
      };
      for (const fn of this.subscribers) fn(line);
    }
  }
}

const LEVEL_NAMES: Array<[number, string]> = [[50, 'ERROR'], [40, 'WARN'], [30, 'INFO'], [20, 'DEBUG'], [0, 'TRACE']];

function levelName(level: number): string {
  return LEVEL_NAMES.find(([at]) => level >= at)![1];
}

/** hclog's text format, as `consul monitor` prints it. */
export function formatText(line: LogLine): string {
  const name = levelName(line.level);
  const kv = Object.entries(line.fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  const module = line.module ? `${line.module}: ` : '';
  return `${new Date(line.time).toISOString()} [${name}]${' '.repeat(6 - name.length)}${module}${line.msg}${kv ? `: ${kv}` : ''}\n`;
}

/** hclog's JSON format (`?logjson`). */
export function formatJson(line: LogLine): string {
  return `${JSON.stringify({
    '@level': levelName(line.level).toLowerCase(), '@message': line.msg, '@module': line.module,
    '@timestamp': new Date(line.time).toISOString(), ...line.fields,
  })}\n`;
}
