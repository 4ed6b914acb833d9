/** The check runner's coded errors; messages follow Consul's wording where Consul has one. */
import { defineError } from '../errors.ts';

export const CheckErrors = {
  /** A definition Consul's CheckType.Validate (or the agent endpoint) would refuse; the message names the field. */
  invalid: defineError('MG_CHECK_INVALID', 400, (message: string) => message),
  /** A Consul check kind Meshgate does not run (UDP, H2PING, OSService, Docker, alias). */
  unsupported: defineError('MG_CHECK_UNSUPPORTED', 400, (field: string) => `${field} checks are not supported by this agent`),
  scriptChecksDisabled: defineError(
    'MG_CHECK_SCRIPTS_DISABLED',
    400,
    () => "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true",
  ),
  badStatus: defineError('MG_CHECK_BAD_STATUS', 400, () => 'Bad check status'),
  /** updateTTL on an unknown check or one that is not a TTL check (Consul's updateTTLCheck wording). */
  noTTL: defineError('MG_CHECK_NO_TTL', 404, (checkId: string) => `CheckID ${JSON.stringify(checkId)} does not have associated TTL`),
  stopped: defineError('MG_CHECK_RUNNER_STOPPED', 503, () => 'check runner is stopped'),
} as const;
