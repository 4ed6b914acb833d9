/**
 * V8's young generation, sized for a proxy. On a machine with plenty of memory V8 lets the new space grow to tens
 * of MiB; a proxy's garbage is short-lived (a request's objects die within milliseconds), so a large new space only
 * spreads allocation over memory that is no longer in cache, and each scavenge copies more in-flight requests.
 * Capped at a few MiB, the gateway used about 20 % less CPU per request in `bench/gateway` (78 → 59–65 µs across
 * runs, caps of 2–16 MiB measuring alike; docs/benchmarks.md). An operator's own `--max-semi-space-size`, on the
 * command line or in NODE_OPTIONS, wins.
 */
import v8 from 'node:v8';

export const GATEWAY_SEMI_SPACE_MIB = 8;

const FLAG = '--max-semi-space-size';

/** True when the operator already chose a semi-space size for this process. */
export function semiSpaceConfigured(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`));
}

/** Applies the gateway's semi-space cap unless the operator set one; returns the cap applied (MiB) or undefined. */
export function tuneYoungGeneration(): number | undefined {
  if (semiSpaceConfigured()) return undefined;
  v8.setFlagsFromString(`${FLAG}=${GATEWAY_SEMI_SPACE_MIB}`);
  return GATEWAY_SEMI_SPACE_MIB;
}
