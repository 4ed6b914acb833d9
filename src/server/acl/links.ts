/**
 * Links from tokens and roles to policies and roles (structs.ACLTokenPolicyLink / ACLTokenRoleLink): given by ID or
 * by Name, stored by ID, shown with the current name; a link whose target was deleted is dropped on the way out
 * (Consul's fixup on read).
 */
import { defineError } from '../../lib/errors.ts';
import type { Link } from './tables.ts';

export const ErrAclInvalid = defineError('MG_ACL_INVALID', 400, (message: string) => message);

interface Target {
  readonly ID: string;
  readonly Name: string;
}

export function resolveLinks(
  links: ReadonlyArray<{ ID?: string; Name?: string }> | undefined,
  what: string,
  kind: 'policy' | 'role',
  byId: (id: string) => Target | undefined,
  byName: (name: string) => Target | undefined,
): Link[] {
  const out: Link[] = [];
  const seen = new Set<string>();
  for (const link of links ?? []) {
    const target = link.ID ? byId(link.ID) : link.Name ? byName(link.Name) : undefined;
    if (!link.ID && !link.Name) throw ErrAclInvalid(`${what}: a ${kind} link needs an ID or a Name`);
    if (!target) {
      throw ErrAclInvalid(link.ID ? `${what}: No such ACL ${kind} with ID ${JSON.stringify(link.ID)}` : `${what}: No such ACL ${kind} with name ${JSON.stringify(link.Name)}`);
    }
    if (!seen.has(target.ID)) out.push({ ID: target.ID });
    seen.add(target.ID);
  }
  return out;
}

export function linksToWire(links: readonly Link[], byId: (id: string) => Target | undefined): Array<{ ID: string; Name: string }> {
  const out: Array<{ ID: string; Name: string }> = [];
  for (const l of links) {
    const target = byId(l.ID);
    if (target) out.push({ ID: l.ID, Name: target.Name });
  }
  return out;
}
