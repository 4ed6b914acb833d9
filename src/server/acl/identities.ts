/**
 * Service and node identities: the policies Consul synthesizes for them (agent/structs/acl.go
 * ACLServiceIdentity.SyntheticPolicy and ACLNodeIdentity.SyntheticPolicy, the `builtin/service` and `builtin/node`
 * templated policies). A service identity may write its service and its sidecar proxy and read every service and
 * node (discovery); a node identity may write its node and read every service. Built as decoded rules directly, so
 * resolving a token never parses text.
 */
import { emptyRules, type NamedRule, type PolicyRules, type SegmentResource, type SegmentRules } from './rules.ts';

export interface ServiceIdentity {
  ServiceName: string;
  Datacenters?: string[] | null | undefined;
}

export interface NodeIdentity {
  NodeName: string;
  Datacenter: string;
}

/** Consul's validServiceIdentityName / validNodeIdentityName: lowercase letters, digits, `-` and `_`, up to 256. */
export const IDENTITY_NAME = /^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$/;

/** The HCL Consul shows for a service identity's synthetic policy (its templated policy `builtin/service`). */
export function serviceIdentityRulesText(name: string): string {
  return [
    `service "${name}" {\n  policy = "write"\n}`,
    `service "${name}-sidecar-proxy" {\n  policy = "write"\n}`,
    'service_prefix "" {\n  policy = "read"\n}',
    'node_prefix "" {\n  policy = "read"\n}',
  ].join('\n');
}

export function nodeIdentityRulesText(name: string): string {
  return [`node "${name}" {\n  policy = "write"\n}`, 'service_prefix "" {\n  policy = "read"\n}'].join('\n');
}

function withRules(add: Partial<Record<SegmentResource, { exact?: NamedRule[]; prefix?: NamedRule[] }>>): PolicyRules {
  const base = emptyRules();
  const segments = { ...base.segments } as Record<SegmentResource, SegmentRules>;
  for (const [resource, rules] of Object.entries(add) as Array<[SegmentResource, { exact?: NamedRule[]; prefix?: NamedRule[] }]>) {
    segments[resource] = { exact: rules.exact ?? [], prefix: rules.prefix ?? [] };
  }
  return { segments, single: {} };
}

export function serviceIdentityRules(name: string): PolicyRules {
  return withRules({
    service: { exact: [{ name, policy: 'write' }, { name: `${name}-sidecar-proxy`, policy: 'write' }], prefix: [{ name: '', policy: 'read' }] },
    node: { prefix: [{ name: '', policy: 'read' }] },
  });
}

export function nodeIdentityRules(name: string): PolicyRules {
  return withRules({
    node: { exact: [{ name, policy: 'write' }] },
    service: { prefix: [{ name: '', policy: 'read' }] },
  });
}

/** Whether an identity applies in this datacenter (no Datacenters: everywhere). */
export function appliesIn(datacenters: readonly string[] | null | undefined, datacenter: string): boolean {
  return !datacenters || datacenters.length === 0 || datacenters.includes(datacenter);
}
