/** `meshgate agent`'s coded errors; messages follow Consul's agent wording where Consul has one. */
import { defineError } from '../lib/errors.ts';

export const AgentErrors = {
  /** A configuration file or directory cannot be read or parsed; the message names the file. */
  configFile: defineError('MG_AGENT_CONFIG_FILE', 400, (file: string, reason: string) => `Error parsing ${file}: ${reason}`),
  /** A service, check or template definition is invalid; the message names the field. */
  invalid: defineError('MG_AGENT_INVALID', 400, (message: string) => message),
  /** The local agent does not know this service (Consul: `Unknown service ID "x". Ensure that ...`). */
  unknownService: defineError('MG_AGENT_UNKNOWN_SERVICE', 404, (id: string) => `Unknown service ID ${JSON.stringify(id)}. Ensure that the service ID is passed, not the service name.`),
  /** The local agent does not know this check. */
  unknownCheck: defineError('MG_AGENT_UNKNOWN_CHECK', 404, (id: string) => `Unknown check ID ${JSON.stringify(id)}. Ensure that the check ID is passed, not the check name.`),
  /** No sidecar port is left in the configured range (Consul's sidecarPortFromServiceIDLocked wording). */
  sidecarPorts: defineError('MG_AGENT_SIDECAR_PORTS', 400, (min: number, max: number) => `no port provided for sidecar_service and none left in the configured range [${min}, ${max}]`),
  /** A template's source or destination is invalid, or its text does not parse; the message names the template. */
  template: defineError('MG_AGENT_TEMPLATE', 400, (where: string, reason: string) => `template ${where}: ${reason}`),
  /** No server given with -retry-join answered. */
  noServer: defineError('MG_AGENT_NO_SERVER', 503, (tried: string) => `no server answered (tried ${tried})`),
} as const;
