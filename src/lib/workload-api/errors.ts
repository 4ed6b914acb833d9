/** Coded errors of the Workload API pieces shared by the agent (server) and the gateway (client). */
import { defineError } from '../errors.ts';

export const WorkloadApiErrors = {
  /** A Workload API address go-spiffe would refuse (workloadapi parseTargetFromURLAddr); the message says why. */
  address: defineError('MG_WORKLOAD_API_ADDR_INVALID', 400, (field: string, addr: string, why: string) => `${field}: ${why} (got ${JSON.stringify(addr)})`),
  /** A Workload API answer that cannot be used (a mandatory field empty, a certificate or key that does not parse). */
  response: defineError('MG_WORKLOAD_API_RESPONSE_INVALID', 502, (why: string) => `invalid Workload API response: ${why}`),
} as const;
