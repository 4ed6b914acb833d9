/**
 * A probe runs one kind of interval check once. Kinds register a factory here (grpc-js's registry shape), so the
 * runner holds no per-kind code and a new kind plugs in without touching it.
 */
import type { Logger } from '../../logger.ts';
import type { CheckDefinition, CheckKind, ProbeResult } from '../types.ts';

export interface Probe {
  /** One run; resolves with a result (a failure is a critical result, never a rejection). Aborted by `signal`. */
  run(signal: AbortSignal): Promise<ProbeResult>;
  /** Releases what the probe holds between runs (connection pools). */
  close(): Promise<void>;
}

export interface ProbeContext {
  /** Effective timeout in ms (the definition's, or the kind's default). */
  timeout: number;
  /** Output cap in bytes. */
  outputMaxSize: number;
  logger: Logger;
}

export type ProbeFactory = (def: CheckDefinition, ctx: ProbeContext) => Probe;

interface ProbeKind {
  factory: ProbeFactory;
  /** Consul's default timeout for the kind, in ms. */
  defaultTimeout: number;
}

const kinds = new Map<Exclude<CheckKind, 'ttl'>, ProbeKind>();

export function registerProbe(kind: Exclude<CheckKind, 'ttl'>, factory: ProbeFactory, defaultTimeout: number): void {
  kinds.set(kind, { factory, defaultTimeout });
}

export function probeKind(kind: Exclude<CheckKind, 'ttl'>): ProbeKind {
  const k = kinds.get(kind);
  if (!k) throw new Error(`no probe registered for ${kind} checks`);
  return k;
}
