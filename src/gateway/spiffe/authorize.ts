/**
 * Which backend identities a SPIFFE servers transport accepts, as Traefik's buildSpiffeAuthorizer
 * (pkg/server/service/transport.go) decides: `ids` given → exactly one of them (go-spiffe AuthorizeOneOf); else
 * `trustDomain` → any ID of that trust domain (AuthorizeMemberOf); else any SPIFFE ID (AuthorizeAny). Bad IDs or
 * trust domains are configuration errors, reported when the transport is built.
 */
import { Errors } from '../../lib/errors.ts';

export interface SpiffeTransportConfig {
  ids?: string[] | undefined;
  trustDomain?: string | undefined;
}

/** A SPIFFE ID's trust domain and path; throws on anything go-spiffe's spiffeid.FromString would refuse. */
export function parseSpiffeUri(raw: string, field: string): { trustDomain: string; path: string } {
  const match = /^spiffe:\/\/([a-z0-9._-]+)((?:\/[A-Za-z0-9._-]+)*)$/.exec(raw);
  if (!match) throw Errors.invalidConfig(`${field}: invalid SPIFFE ID "${raw}" (spiffe://<trust domain>/<path>, lower-case trust domain)`);
  return { trustDomain: match[1]!, path: match[2]! };
}

/** `example.org` or `spiffe://example.org`, as spiffeid.TrustDomainFromString accepts both. */
export function parseTrustDomain(raw: string, field: string): string {
  const name = raw.startsWith('spiffe://') ? raw.slice('spiffe://'.length) : raw;
  if (!/^[a-z0-9._-]+$/.test(name)) throw Errors.invalidConfig(`${field}: invalid SPIFFE trust domain "${raw}"`);
  return name;
}

/** Returns undefined when the presented ID is acceptable, or an Error saying why not. */
export type SpiffeAuthorizer = (presented: string | undefined) => Error | undefined;

export function spiffeAuthorizer(config: SpiffeTransportConfig, field: string): SpiffeAuthorizer {
  if (config.ids && config.ids.length > 0) {
    const allowed = new Set(config.ids.map((id, i) => {
      parseSpiffeUri(id, `${field}.ids[${i}]`);
      return id;
    }));
    return (presented) => (presented !== undefined && allowed.has(presented) ? undefined : new Error(`SPIFFE ID ${presented ?? '(none)'} is not one of ${[...allowed].join(', ')}`));
  }
  if (config.trustDomain) {
    const trustDomain = parseTrustDomain(config.trustDomain, `${field}.trustDomain`);
    return (presented) => {
      if (presented === undefined) return new Error('the peer presented no SPIFFE ID');
      try {
        if (parseSpiffeUri(presented, 'peer').trustDomain === trustDomain) return undefined;
      } catch {
        return new Error(`the peer's URI SAN ${presented} is not a SPIFFE ID`);
      }
      return new Error(`SPIFFE ID ${presented} is not a member of trust domain ${trustDomain}`);
    };
  }
  return (presented) => (presented !== undefined && presented.startsWith('spiffe://') ? undefined : new Error('the peer presented no SPIFFE ID'));
}
