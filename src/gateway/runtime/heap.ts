/**
 * V8's heap, sized for a proxy. Two settings, applied in two different ways because V8 reads them at different times:
 *
 * - The young generation (`--max-semi-space-size`). A proxy's garbage is short-lived (a request's objects die within
 *   milliseconds); on a machine with plenty of memory V8 lets each semi-space grow to 32–64 MiB (128 MiB of new space
 *   measured under `bench/gateway`), which only spreads allocation over memory no longer in cache and makes each
 *   scavenge copy more in-flight requests. V8 fixes the limit when it creates the heap, so `v8.setFlagsFromString`
 *   at run time changes nothing (measured: the new space still grew to 128 MiB): the flag must be on the process's
 *   command line. `gatewayNodeFlags()` is that command line — bin/meshgate passes it to `meshgate gateway`, the
 *   cluster primary to its workers, and bench/gateway to the processes it measures.
 * - How far the old generation grows past what survived the last full GC (`--heap-growing-percent`). On a large
 *   machine V8 lets it reach four times the live heap before collecting, so promoted request garbage piled up to
 *   100+ MiB of old space on a 30 MiB live heap. V8 reads this flag at every full GC, so `tuneHeap()` sets it at run
 *   time: Go's GOGC=100 is a factor of 2; 1.5 keeps a 10,000-router gateway's heap within half again its live size.
 *
 * An operator's own value of either flag, on the command line or in NODE_OPTIONS, wins.
 */
import v8 from 'node:v8';

export const GATEWAY_SEMI_SPACE_MIB = 8;
export const GATEWAY_HEAP_GROWING_PERCENT = 50;

const SEMI_SPACE_FLAG = '--max-semi-space-size';
const GROWING_FLAG = '--heap-growing-percent';

function configured(flag: string, execArgv: readonly string[], nodeOptions: string): boolean {
  // V8 accepts both spellings of a flag's words.
  const names = [flag, flag.replaceAll('-', '_').replace(/^__/, '--')];
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => names.some((name) => arg === name || arg.startsWith(`${name}=`)));
}

/** True when the operator already chose a semi-space size for this process. */
export function semiSpaceConfigured(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  return configured(SEMI_SPACE_FLAG, execArgv, nodeOptions);
}

/** The Node flags a gateway process is started with (nothing the operator already set for it). */
export function gatewayNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  return semiSpaceConfigured(execArgv, nodeOptions) ? [] : [`${SEMI_SPACE_FLAG}=${GATEWAY_SEMI_SPACE_MIB}`];
}

/** Sets the old generation's growing factor unless the operator set one; returns the percent applied or undefined. */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): number | undefined {
  if (configured(GROWING_FLAG, execArgv, '')) return undefined;
  v8.setFlagsFromString(`${GROWING_FLAG}=${GATEWAY_HEAP_GROWING_PERCENT}`);
  return GATEWAY_HEAP_GROWING_PERCENT;
}
