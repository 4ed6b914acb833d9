/**
 * Go's time.Duration text form, which Consul and Traefik use everywhere ("10s", "1m30s", "1.5h", "300ms",
 * "1.9067416191101074s"). Values are carried as milliseconds (fractional allowed) inside Meshgate.
 */
import { Errors } from './errors.ts';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000,
};

/**
 * The longest Go time.Duration (int64 nanoseconds, about 292 years) in milliseconds. Go's time.ParseDuration
 * refuses anything longer ("time: invalid duration"), and so do Consul's decoders; so do we.
 */
// eslint-disable-next-line no-loss-of-precision -- the nearest double is the limit we mean; Go's is (2^63-1) ns exactly
export const MAX_GO_DURATION_MS = 9_223_372_036_854.775807;

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Parses a Go duration string into milliseconds; throws a 400 error naming `field` when it is not one. */
export function parseDuration(text: string, field = 'duration'): number {
  const input = text.trim();
  if (input === '0' || input === '+0' || input === '-0') return 0;
  let pos = 0;
  let sign = 1;
  if (input[0] === '-' || input[0] === '+') {
    sign = input[0] === '-' ? -1 : 1;
    pos = 1;
  }
  if (pos >= input.length) throw Errors.badRequest(`${field}: invalid duration "${text}"`);
  let total = 0;
  while (pos < input.length) {
    TERM.lastIndex = pos;
    const m = TERM.exec(input);
    if (!m) throw Errors.badRequest(`${field}: invalid duration "${text}"`);
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = TERM.lastIndex;
  }
  if (total > MAX_GO_DURATION_MS) throw Errors.badRequest(`${field}: time: invalid duration ${JSON.stringify(text)}`);
  return sign * total;
}

/**
 * Accepts what Consul's decoder accepts for a duration field: a Go duration string, or a number of
 * nanoseconds (Go's JSON form of time.Duration). Returns milliseconds.
 */
export function decodeDuration(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value / 1e6;
  if (typeof value === 'string') return parseDuration(value, field);
  throw Errors.badRequest(`${field}: expected a duration such as "10s", got ${JSON.stringify(value)}`);
}

/** Formats milliseconds the way Go's Duration.String() does ("1m30s", "250ms", "0s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1000) {
    if (rest >= 1) out = `${trim(rest)}ms`;
    else if (rest >= 1e-3) out = `${trim(rest * 1e3)}µs`;
    else out = `${trim(rest * 1e6)}ns`;
  } else {
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const s = rest / 1000;
    out = (h ? `${h}h` : '') + (h || m ? `${m}m` : '') + `${trim(s)}s`;
  }
  return neg ? `-${out}` : out;
}

function trim(n: number): string {
  return String(Number(n.toFixed(9)));
}
