/**
 * What the `meshgate acl …` commands share: Consul's output layouts (command/acl/<kind>/formatter.go: aligned
 * `Label:  value` lines, links as `ID - Name`, identities with their datacenters, or `-format json`), the repeatable
 * link and identity flags, reading `-rules` from a value, `@file` or `-` (stdin), and errors in the CLI's words.
 */
import { readFileSync } from 'node:fs';
import { isApiStatusError } from '../../../api/client.ts';
import type { ACLLink, ACLNodeIdentity, ACLPolicy, ACLRole, ACLServiceIdentity, ACLToken } from '../../../api/types.ts';
import type { MeshgateError } from '../../../lib/errors.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';

export interface FormatFlag {
  format?: string;
}

export function checkFormat(flags: FormatFlag): 'pretty' | 'json' {
  const f = flags.format ?? 'pretty';
  if (f !== 'pretty' && f !== 'json') throw CliErrors.usage(`Invalid format "${f}": must be "pretty" or "json"`);
  return f;
}

/** `Error <what>: <Consul's status and body>` — the acl commands' failure lines. */
export function failure(what: string, err: unknown): MeshgateError {
  const detail = isApiStatusError(err) ? `Unexpected response code: ${err.statusCode} (${err.body.trim()})` : (err as Error).message;
  return CliErrors.failed(`Failed to ${what}: ${detail}`);
}

function block(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`.trimEnd());
}

function links(title: string, list: readonly ACLLink[] | undefined): string[] {
  if (!list || list.length === 0) return [];
  return [`${title}:`, ...list.map((l) => `   ${l.ID ?? ''} - ${l.Name ?? ''}`)];
}

function identities(services: readonly ACLServiceIdentity[] | undefined, nodes: readonly ACLNodeIdentity[] | undefined): string[] {
  const out: string[] = [];
  if (services && services.length > 0) {
    out.push('Service Identities:');
    for (const s of services) out.push(`   ${s.ServiceName} (Datacenters: ${s.Datacenters && s.Datacenters.length > 0 ? s.Datacenters.join(', ') : 'all'})`);
  }
  if (nodes && nodes.length > 0) {
    out.push('Node Identities:');
    for (const n of nodes) out.push(`   ${n.NodeName} (Datacenter: ${n.Datacenter})`);
  }
  return out;
}

export function printToken(io: CliIO, token: ACLToken, format: 'pretty' | 'json'): void {
  if (format === 'json') return info(io, JSON.stringify(token, null, 4));
  const rows: Array<[string, string]> = [
    ['AccessorID', token.AccessorID], ['SecretID', token.SecretID], ['Description', token.Description], ['Local', String(token.Local)],
    ['Create Time', token.CreateTime],
  ];
  if (token.AuthMethod) rows.push(['Auth Method', token.AuthMethod]);
  if (token.ExpirationTime) rows.push(['Expiration Time', token.ExpirationTime]);
  info(io, [...block(rows), ...links('Policies', token.Policies), ...links('Roles', token.Roles), ...identities(token.ServiceIdentities, token.NodeIdentities)].join('\n'));
}

export function printPolicy(io: CliIO, policy: ACLPolicy, format: 'pretty' | 'json'): void {
  if (format === 'json') return info(io, JSON.stringify(policy, null, 4));
  const rows: Array<[string, string]> = [
    ['ID', policy.ID], ['Name', policy.Name], ['Description', policy.Description], ['Datacenters', (policy.Datacenters ?? []).join(', ')],
  ];
  info(io, [...block(rows), 'Rules:', policy.Rules].join('\n'));
}

export function printRole(io: CliIO, role: ACLRole, format: 'pretty' | 'json'): void {
  if (format === 'json') return info(io, JSON.stringify(role, null, 4));
  const rows: Array<[string, string]> = [['ID', role.ID], ['Name', role.Name], ['Description', role.Description]];
  info(io, [...block(rows), ...links('Policies', role.Policies), ...identities(role.ServiceIdentities, role.NodeIdentities)].join('\n'));
}

/** `-policy-id` and `-policy-name` (or the role ones) as links; undefined when neither was given. */
export function linksFrom(ids: readonly string[] | undefined, names: readonly string[] | undefined): ACLLink[] | undefined {
  if ((ids?.length ?? 0) + (names?.length ?? 0) === 0) return undefined;
  return [...(ids ?? []).map((ID) => ({ ID })), ...(names ?? []).map((Name) => ({ Name }))];
}

/** Consul's `-service-identity "web"` or `"web:dc1,dc2"`. */
export function serviceIdentitiesFrom(values: readonly string[] | undefined): ACLServiceIdentity[] | undefined {
  if (!values || values.length === 0) return undefined;
  return values.map((v) => {
    const [name, dcs] = v.split(':', 2) as [string, string | undefined];
    if (!name) throw CliErrors.usage(`Malformed -service-identity argument: ${JSON.stringify(v)}`);
    return { ServiceName: name, ...(dcs ? { Datacenters: dcs.split(',').map((d) => d.trim()).filter(Boolean) } : {}) };
  });
}

/** Consul's `-node-identity "node:dc"`. */
export function nodeIdentitiesFrom(values: readonly string[] | undefined): ACLNodeIdentity[] | undefined {
  if (!values || values.length === 0) return undefined;
  return values.map((v) => {
    const [name, dc] = v.split(':', 2) as [string, string | undefined];
    if (!name || !dc) throw CliErrors.usage(`Malformed -node-identity argument: ${JSON.stringify(v)} (want NODENAME:DATACENTER)`);
    return { NodeName: name, Datacenter: dc };
  });
}

/** `-rules`: the rules themselves, `@path` for a file, `-` for stdin. */
export async function rulesFrom(value: string | undefined, io: CliIO): Promise<string | undefined> {
  if (value === undefined) return undefined;
  if (value === '-') return (await io.readStdin()).toString('utf8');
  if (value.startsWith('@')) {
    try {
      return readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      throw CliErrors.failed(`Failed to read rules from ${value.slice(1)}: ${(err as Error).message}`);
    }
  }
  return value;
}
