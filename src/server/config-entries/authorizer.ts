/**
 * The ACL seam for configuration entries and intentions. ACLs are not built yet: until they are, every request is
 * judged by `ALLOW_ALL`, which is Consul's behaviour with `acl.enabled = false` — every read and write allowed and
 * the intention default "allow". The ACL system plugs in by giving the endpoints an `authorizerFor(token)` that
 * answers these questions from the token's rules (Consul's ConfigEntry.CanRead/CanWrite per kind: service:read /
 * service:write on the entry's name for service kinds, mesh:write for proxy-defaults, mesh and gateways,
 * intentions:read / intentions:write for service-intentions; IntentionDefaultAllow from the ACL default policy).
 */
export interface ConnectAuthorizer {
  canReadEntry(kind: string, name: string): boolean;
  canWriteEntry(kind: string, name: string): boolean;
  /** What an intention check decides when no intention matches (Consul's authz.IntentionDefaultAllow). */
  intentionDefaultAllow(): boolean;
}

export const ALLOW_ALL: ConnectAuthorizer = {
  canReadEntry: () => true,
  canWriteEntry: () => true,
  intentionDefaultAllow: () => true,
};

export type AuthorizerFor = (token: string | undefined) => ConnectAuthorizer;

export const allowAll: AuthorizerFor = () => ALLOW_ALL;
