/**
 * JWT claims → a login identity (go-sso's extractClaims and Consul's jwt validator NewIdentity): each
 * `ClaimMappings` entry copies one claim, stringified, into `value.<name>`; each `ListClaimMappings` entry copies a
 * list claim into `list.<name>`. A claim is named directly or by a JSON pointer ("/nested/key"); a missing claim
 * leaves its field empty, so selectors and BindNames can always name it.
 */
import { ErrLoginRejected } from '../errors.ts';
import type { Identity } from '../types.ts';


export function emptyIdentity(values: Readonly<Record<string, string>>, lists: Readonly<Record<string, string>>): Identity {
  return identityOf(Object.fromEntries(Object.values(values).map((f) => [f, ''])), Object.fromEntries(Object.values(lists).map((f) => [f, [] as string[]])));
}

export function identityFromClaims(claims: Record<string, unknown>, values: Readonly<Record<string, string>>, lists: Readonly<Record<string, string>>): Identity {
  const value: Record<string, string> = Object.fromEntries(Object.values(values).map((f) => [f, '']));
  const list: Record<string, string[]> = Object.fromEntries(Object.values(lists).map((f) => [f, [] as string[]]));
  for (const [claim, field] of Object.entries(values)) {
    const raw = claimAt(claims, claim);
    if (raw === undefined) continue;
    const text = stringify(raw);
    if (text === undefined) throw ErrLoginRejected(`error converting claim '${claim}' to string`);
    value[field] = text;
  }
  for (const [claim, field] of Object.entries(lists)) {
    const raw = claimAt(claims, claim);
    if (raw === undefined) continue;
    const items = Array.isArray(raw) ? raw : [raw];
    list[field] = items.map((item) => {
      const text = stringify(item);
      if (text === undefined) throw ErrLoginRejected(`error converting claim '${claim}' to list of strings`);
      return text;
    });
  }
  return identityOf(value, list);
}

function identityOf(value: Record<string, string>, list: Record<string, string[]>): Identity {
  const projected: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, v] of Object.entries(value)) projected[`value.${name}`] = v;
  return { selectable: { value, list }, projected };
}

/** A claim by name, or by JSON pointer (RFC 6901) when it starts with "/". */
function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (!path.startsWith('/')) return Object.hasOwn(claims, path) ? claims[path] : undefined;
  let cur: unknown = claims;
  for (const raw of path.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(key)) return undefined;
      cur = cur[Number(key)];
    } else {
      cur = Object.hasOwn(cur, key) ? (cur as Record<string, unknown>)[key] : undefined;
    }
  }
  return cur;
}

function stringify(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}
