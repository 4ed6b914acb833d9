/**
 * The check runner's vocabulary: Consul's health statuses and the check definition in Consul's wire field names
 * (agent/structs CheckType), with every duration carried as milliseconds.
 */

/** Consul's api.Health* constants. `maintenance` is never produced by the runner; owners use it for maint checks. */
export const HealthStatus = {
  passing: 'passing',
  warning: 'warning',
  critical: 'critical',
  maintenance: 'maintenance',
} as const;
export type HealthStatus = (typeof HealthStatus)[keyof typeof HealthStatus];

/** A status a check itself can take (initial `Status`, TTL updates, probe results). */
export type CheckStatus = 'passing' | 'warning' | 'critical';

export function isCheckStatus(value: unknown): value is CheckStatus {
  return value === 'passing' || value === 'warning' || value === 'critical';
}

/**
 * A check as registered with an agent. Exactly one of `Args`/`ScriptArgs`, `HTTP`, `TCP`, `GRPC` (each with
 * `Interval`) or `TTL` selects the kind.
 */
export interface CheckDefinition {
  CheckID: string;
  Name?: string;
  ServiceID?: string;
  Notes?: string;
  /** Initial status; Consul's default is critical so nothing enters the pool before it is proven healthy. */
  Status?: CheckStatus;

  /** Script check (refused unless the runner has `enableScriptChecks`). */
  Args?: string[];
  ScriptArgs?: string[];

  HTTP?: string;
  /** Default GET. */
  Method?: string;
  Header?: Record<string, string[]>;
  Body?: string;
  /** Return the first 3xx response instead of following up to 10 redirects. */
  DisableRedirects?: boolean;

  TCP?: string;

  /** `host:port` or `host:port/service`. */
  GRPC?: string;
  GRPCUseTLS?: boolean;

  TLSServerName?: string;
  TLSSkipVerify?: boolean;

  /** Milliseconds between runs (required for script, HTTP, TCP, gRPC). */
  Interval?: number;
  /** Milliseconds; default 10s (30s for scripts). */
  Timeout?: number;
  /** Milliseconds; a TTL check turns critical when not updated within it. */
  TTL?: number;

  SuccessBeforePassing?: number;
  FailuresBeforeWarning?: number;
  FailuresBeforeCritical?: number;

  /** Milliseconds a check may stay critical before its service is reaped (0 = never). */
  DeregisterCriticalServiceAfter?: number;
  /** Upper bound on captured output in bytes (Consul's OutputMaxSize); default and ceiling 4 KiB. */
  OutputMaxSize?: number;
}

export type CheckKind = 'script' | 'http' | 'tcp' | 'grpc' | 'ttl';

/** What one run of a probe concluded, before the thresholds of `StatusHandler` are applied. */
export interface ProbeResult {
  status: CheckStatus;
  output: string;
}

/** The current state of a check as last recorded by the runner. */
export interface CheckState {
  status: CheckStatus;
  output: string;
}
