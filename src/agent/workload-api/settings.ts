/**
 * The agent's `spiffe_workload_api` block (HCL or JSON, like the rest of its configuration):
 *
 *     spiffe_workload_api {
 *       socket      = "/run/meshgate/workload.sock"   # or "unix:///…", or "tcp://127.0.0.1:8081"
 *       service     = "web"                           # the identity this socket serves
 *       socket_mode = "0600"                          # who may open it: that is the access control
 *       token       = "…"                             # optional; needs service:write on `service`
 *     }
 *
 * Parsed here without loading grpc-js; server.ts serves it. The -workload-api-* flags override the block's keys.
 */
import { parseWorkloadApiAddress } from '../../lib/workload-api/address.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import { AgentErrors } from '../errors.ts';

export interface WorkloadApiSettings {
  /** `unix:///path`, an absolute path, or `tcp://IP:port`. */
  readonly socket: string;
  /** The service whose identity the socket serves. */
  readonly service: string;
  /** File mode of a unix socket; default 0600. */
  readonly socketMode: number;
  /** Token the leaf is asked with; default the agent's default token. */
  readonly token?: string | undefined;
}

export const DEFAULT_SOCKET_MODE = 0o600;
const KEYS = new Set(['socket', 'service', 'socket_mode', 'token']);

/** Checks a block (from a file, or assembled from flags); `where` names its source in errors. */
export function workloadApiSettings(raw: unknown, where: string): WorkloadApiSettings {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw AgentErrors.invalid(`${where}: "spiffe_workload_api" must be an object`);
  const block = raw as Record<string, unknown>;
  for (const key of Object.keys(block)) if (!KEYS.has(key)) throw AgentErrors.invalid(`${where}: spiffe_workload_api: unknown key "${key}"`);
  const str = (key: string): string | undefined => {
    const v = block[key];
    if (v !== undefined && (typeof v !== 'string' || v === '')) throw AgentErrors.invalid(`${where}: spiffe_workload_api.${key} must be a non-empty string`);
    return v as string | undefined;
  };
  const socket = str('socket');
  const service = str('service');
  if (socket === undefined) throw AgentErrors.invalid(`${where}: spiffe_workload_api.socket is required`);
  if (service === undefined) throw AgentErrors.invalid(`${where}: spiffe_workload_api.service is required`);
  try {
    parseWorkloadApiAddress(socket.startsWith('/') ? `unix://${socket}` : socket, 'spiffe_workload_api.socket');
  } catch (err) {
    if (isMeshgateError(err)) throw AgentErrors.invalid(`${where}: ${err.message}`);
    throw err;
  }
  return { socket, service, socketMode: socketMode(block.socket_mode, where), token: str('token') };
}

function socketMode(raw: unknown, where: string): number {
  if (raw === undefined) return DEFAULT_SOCKET_MODE;
  const n = typeof raw === 'string' && /^0?[0-7]{1,3}$/.test(raw) ? Number.parseInt(raw, 8) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0o777) throw AgentErrors.invalid(`${where}: spiffe_workload_api.socket_mode must be an octal file mode such as "0600"`);
  return n;
}

/** Flags (`-workload-api-socket`, `-workload-api-service`, `-workload-api-socket-mode`) over the file's block. */
export interface WorkloadApiFlags {
  readonly socket?: string | undefined;
  readonly service?: string | undefined;
  readonly socketMode?: string | undefined;
}

export function withWorkloadApiFlags(file: WorkloadApiSettings | undefined, flags: WorkloadApiFlags | undefined): WorkloadApiSettings | undefined {
  if (!flags || (flags.socket === undefined && flags.service === undefined && flags.socketMode === undefined)) return file;
  const block: Record<string, unknown> = file
    ? { socket: file.socket, service: file.service, socket_mode: file.socketMode.toString(8), ...(file.token !== undefined ? { token: file.token } : {}) }
    : {};
  if (flags.socket !== undefined) block.socket = flags.socket;
  if (flags.service !== undefined) block.service = flags.service;
  if (flags.socketMode !== undefined) block.socket_mode = flags.socketMode;
  return workloadApiSettings(block, '-workload-api-* flags');
}
