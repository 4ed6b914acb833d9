/** The health check runner shared by the server's own agent and `meshgate agent`. */
export { CheckRunner, MIN_INTERVAL, DEFAULT_CHECK_UPDATE_INTERVAL, DEREGISTER_CRITICAL_SERVICE_AFTER_MIN, DEFAULT_REAP_INTERVAL } from './runner.ts';
export type { CheckRunnerOptions } from './runner.ts';
export { validateCheckDefinition, checkKind } from './validate.ts';
export { aliasServiceStatus } from './alias.ts';
export type { AliasedCheck, AliasResult } from './alias.ts';
export { StatusHandler } from './status-handler.ts';
export { CheckErrors } from './errors.ts';
export { HealthStatus, isCheckStatus } from './types.ts';
export type { CheckDefinition, CheckKind, CheckState, CheckStatus, ProbeResult } from './types.ts';
export { healthService, HealthClient } from './probes/grpc-health.ts';
export type { ServingStatus, HealthCheckRequest, HealthCheckResponse } from './probes/grpc-health.ts';
export { registerProbe } from './probes/probe.ts';
export type { Probe, ProbeContext, ProbeFactory } from './probes/probe.ts';
