/** What every endpoint module and server subsystem is built from; created once in main.ts. */
import type { Logger } from '../lib/logger.ts';
import type { AclResolver } from './acl/authorizer.ts';
import type { AclSystem } from './acl/system.ts';
import type { StateStore } from './store/state-store.ts';
import type { ServerMetrics } from './metrics.ts';

export interface ServerIdentity {
  /** This server's node name (its own agent's node in the catalog). */
  readonly nodeName: string;
  readonly nodeId: string;
  readonly datacenter: string;
  /** Address the node is registered with (the HTTP API's host). */
  readonly address: string;
  /** The Consul API version reported where Consul reports its own (see version.ts). */
  readonly version: string;
  /** Meshgate's own version, reported as version metadata. */
  readonly meshgateVersion: string;
}

export interface ServerDeps {
  readonly store: StateStore;
  readonly identity: ServerIdentity;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  /** Resolves a request's token to its Authorizer (ACLS_DISABLED when `acl.enabled` is off). */
  readonly acl: AclResolver;
  /** The ACL system (tokens, policies, roles, bootstrap) when ACLs are on; auth methods create tokens through it. */
  readonly aclSystem?: AclSystem;
  /** Things to stop when the server closes (check runners, session timers), in reverse order of registration. */
  onClose(fn: () => Promise<void> | void): void;
  /** The HTTP API's base URL once listening (for links and self-registration). */
  readonly url: () => string;
  /** The ports bound once listening (-1: not listening), for /v1/agent/self's DebugConfig. */
  readonly ports: () => { readonly http: number; readonly dns: number; readonly https?: number };
  /** The range the local agent assigns `sidecar_service` ports from (default 21000–21255). */
  readonly sidecarPorts?: { readonly min: number; readonly max: number };
  /** Limits of the Connect CA that tests lower (Consul's 1h minimum leaf TTL); absent in production. */
  readonly connectCa?: { readonly minLeafCertTtlMs?: number };
}
