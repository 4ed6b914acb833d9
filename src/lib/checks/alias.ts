/**
 * The status of an alias check (`AliasService`), as Consul's agent/checks/alias.go processChecks computes it from the
 * checks of the alias's node: the aliased service's own checks and the node's node-level checks count (other services'
 * do not); the first critical one decides, else a warning, else passing; a service with no check of its own is
 * passing while it exists and critical once it is gone. Both agents (the server's own and `meshgate agent`) run alias
 * checks with it, so a sidecar's "Connect Sidecar Aliasing" check reads the same wherever it was registered.
 */
import type { CheckStatus } from './types.ts';

export interface AliasedCheck {
  readonly Name: string;
  readonly ServiceID: string;
  readonly Status: CheckStatus;
  readonly Output: string;
}

export interface AliasResult {
  status: CheckStatus;
  output: string;
}

/** `checks`: the node's checks (the alias check itself may be among them: it belongs to another service). */
export function aliasServiceStatus(checks: Iterable<AliasedCheck>, serviceId: string, node: string, serviceExists: boolean): AliasResult {
  let status: CheckStatus = 'passing';
  let output = 'No checks found.';
  let serviceFound = false;
  for (const check of checks) {
    const matches = check.ServiceID === serviceId;
    if (check.ServiceID !== '' && !matches) continue;
    if (matches) serviceFound = true;
    if (check.Status === 'critical' || check.Status === 'warning') {
      status = check.Status;
      output = `Aliased check ${JSON.stringify(check.Name)} failing: ${check.Output}`;
      if (check.Status === 'critical') break;
    } else if (status === 'passing') {
      output = 'All checks passing.';
    }
  }
  if (!serviceFound && !serviceExists) {
    status = 'critical';
    output = `Service ${serviceId} could not be found on node ${node}`;
  }
  return { status, output };
}
