/**
 * From a verified identity to what its token gets (Consul's agent/consul/auth/binder.go Bind): every binding rule
 * of the method whose Selector matches the identity's selectable fields (an empty selector matches all; one that
 * fails to compile or evaluate matches nothing, as go-bexpr's evaluator errors are treated there) contributes its
 * BindName, interpolated: a service identity, a node identity in this datacenter, or a link to the role or policy of
 * that name when it exists. Selectors are the server's own filter language (src/server/filter) over the identity's
 * `{ value: map[string]string, list: map[string][]string }`, the type Consul hands go-bexpr.
 */
import { compileFilter, type FilterFields } from '../../filter/index.ts';
import type { StoreReader } from '../../store/types.ts';
import type { NodeIdentity, ServiceIdentity } from '../identities.ts';
import { getPolicyByName } from '../policies.ts';
import { getRoleByName } from '../roles.ts';
import { computeBindName } from './bind-name.ts';
import { ErrLoginRejected } from './errors.ts';
import type { BindingRuleRow, Identity } from './types.ts';

/** The selectable type: go-bexpr sees `value.<name>` strings and `list.<name>` string lists. */
export const SELECTABLE_FIELDS: FilterFields = { value: { map: 'string' }, list: { map: { list: 'string' } } };

export interface Bindings {
  ServiceIdentities: ServiceIdentity[];
  NodeIdentities: NodeIdentity[];
  Roles: Array<{ ID: string }>;
  Policies: Array<{ ID: string }>;
}

export function noBindings(b: Bindings): boolean {
  return b.ServiceIdentities.length === 0 && b.NodeIdentities.length === 0 && b.Roles.length === 0 && b.Policies.length === 0;
}

export function bind(reader: StoreReader, rules: readonly BindingRuleRow[], identity: Identity, datacenter: string, fields: FilterFields = SELECTABLE_FIELDS): Bindings {
  const out: Bindings = { ServiceIdentities: [], NodeIdentities: [], Roles: [], Policies: [] };
  for (const rule of rules) {
    if (!selectorMatches(rule.Selector, identity, fields)) continue;
    let name: string;
    try {
      name = computeBindName(rule.BindType, rule.BindName, identity.projected);
    } catch (err) {
      throw ErrLoginRejected(`binding rule ${rule.ID}: ${(err as Error).message}`);
    }
    switch (rule.BindType) {
      case 'service':
        out.ServiceIdentities.push({ ServiceName: name });
        break;
      case 'node':
        out.NodeIdentities.push({ NodeName: name, Datacenter: datacenter });
        break;
      case 'role': {
        const role = getRoleByName(reader, name);
        if (role) out.Roles.push({ ID: role.value.ID });
        break;
      }
      case 'policy': {
        const policy = getPolicyByName(reader, name);
        if (policy) out.Policies.push({ ID: policy.value.ID });
        break;
      }
    }
  }
  return out;
}

function selectorMatches(selector: string, identity: Identity, fields: FilterFields): boolean {
  if (selector === '') return true;
  try {
    return compileFilter(selector, fields)(identity.selectable);
  } catch {
    return false; // Consul's doesSelectorMatch: a selector that does not compile matches nothing
  }
}
