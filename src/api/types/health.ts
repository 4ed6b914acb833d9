/** Health endpoints' wire types: checks and the service entries of /v1/health/service/:name. */
import type { CheckStatus } from './common.ts';
import type { AgentService } from './agent.ts';
import type { Node } from './catalog.ts';

/** The probe behind a check, as the catalog stores it (durations as Go strings). */
export interface HealthCheckDefinition {
  HTTP?: string;
  Header?: Record<string, string[]>;
  Method?: string;
  Body?: string;
  TLSServerName?: string;
  TLSSkipVerify?: boolean;
  TCP?: string;
  UDP?: string;
  GRPC?: string;
  GRPCUseTLS?: boolean;
  H2PING?: string;
  Interval?: string;
  Timeout?: string;
  DeregisterCriticalServiceAfter?: string;
  /** Go serialises these time.Duration twins as nanosecond numbers. */
  IntervalDuration?: number;
  TimeoutDuration?: number;
  DeregisterCriticalServiceAfterDuration?: number;
  [field: string]: unknown;
}

/** A check in the catalog (`/v1/health/checks`, `/v1/health/node`, `/v1/health/state`, ServiceEntry.Checks). */
export interface HealthCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[] | null;
  Type: string;
  Interval?: string;
  Timeout?: string;
  ExposedPort?: number;
  Definition: HealthCheckDefinition;
  Namespace?: string;
  Partition?: string;
  PeerName?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** `GET /v1/health/service/:name` element. */
export interface ServiceEntry {
  Node: Node;
  Service: AgentService;
  Checks: HealthCheck[];
}

/** `GET /v1/health/service/:name` query options beyond the common ones. */
export interface HealthServiceOptions {
  /** `?passing`: only instances whose checks all pass. */
  passing?: boolean;
  /** `?tag=` (repeatable): instances carrying every tag given. */
  tag?: string | string[];
}
