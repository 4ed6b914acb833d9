/**
 * SPIFFE identities as Consul Connect writes them in certificate URI SANs (agent/connect/uri*.go):
 * a service `spiffe://<trust-domain>/ns/<ns>/dc/<dc>/svc/<service>`, a client agent
 * `spiffe://<trust-domain>/agent/client/dc/<dc>/id/<node>`, and the CA's own signing identity
 * `spiffe://<trust-domain>`. The server's CA writes them; the sidecar proxy parses the peer's to ask intentions.
 */
import { defineError } from './errors.ts';

export interface SpiffeService {
  readonly kind: 'service';
  readonly trustDomain: string;
  readonly namespace: string;
  readonly datacenter: string;
  readonly service: string;
}

export interface SpiffeAgent {
  readonly kind: 'agent';
  readonly trustDomain: string;
  readonly datacenter: string;
  readonly node: string;
}

export interface SpiffeSigning {
  readonly kind: 'signing';
  readonly trustDomain: string;
}

export type SpiffeId = SpiffeService | SpiffeAgent | SpiffeSigning;

export const ErrSpiffeId = defineError('MG_SPIFFE_ID_INVALID', 400, (uri: string, why: string) => `invalid SPIFFE ID "${uri}": ${why}`);

const SERVICE_PATH = /^\/ns\/([^/]+)\/dc\/([^/]+)\/svc\/([^/]+)$/;
const AGENT_PATH = /^\/agent\/client\/dc\/([^/]+)\/id\/([^/]+)$/;

export function formatSpiffeId(id: SpiffeId): string {
  const base = `spiffe://${id.trustDomain}`;
  switch (id.kind) {
    case 'service':
      return `${base}/ns/${encodeURIComponent(id.namespace)}/dc/${encodeURIComponent(id.datacenter)}/svc/${encodeURIComponent(id.service)}`;
    case 'agent':
      return `${base}/agent/client/dc/${encodeURIComponent(id.datacenter)}/id/${encodeURIComponent(id.node)}`;
    case 'signing':
      return base;
  }
}

/** Parses a URI SAN; refuses anything that is not one of Consul's three shapes (ParseCertURI). */
export function parseSpiffeId(uri: string): SpiffeId {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw ErrSpiffeId(uri, 'not a URI');
  }
  if (url.protocol !== 'spiffe:') throw ErrSpiffeId(uri, 'scheme must be spiffe');
  const trustDomain = url.hostname.toLowerCase();
  if (trustDomain === '') throw ErrSpiffeId(uri, 'no trust domain');
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.port !== '') throw ErrSpiffeId(uri, 'unexpected URI parts');
  if (url.pathname === '' || url.pathname === '/') return { kind: 'signing', trustDomain };
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw ErrSpiffeId(uri, 'bad escape in path');
    }
  };
  const service = SERVICE_PATH.exec(url.pathname);
  if (service) return { kind: 'service', trustDomain, namespace: decode(service[1]!), datacenter: decode(service[2]!), service: decode(service[3]!) };
  const agent = AGENT_PATH.exec(url.pathname);
  if (agent) return { kind: 'agent', trustDomain, datacenter: decode(agent[1]!), node: decode(agent[2]!) };
  throw ErrSpiffeId(uri, 'path is neither a service nor an agent identity');
}

/** The trust domain of a cluster: `<cluster-id>.consul`, as Consul's SpiffeIDSigningForCluster. */
export function trustDomainForCluster(clusterId: string): string {
  return `${clusterId}.consul`;
}

const URI_PARTS = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/i;

/**
 * Whether a peer certificate's URI SAN is the identity expected, the way Traefik's verifyServerCertMatchesURI
 * (pkg/tls, also consulcatalog/connect_tls.go) decides it: the expected URI takes the presented URI's authority
 * (the trust domain) before an ASCII case-insensitive comparison — so `spiffe:///ns/default/dc/dc1/svc/web`
 * names a service in whatever trust domain its CA signs for, and the CA chain, checked separately, is what limits
 * who may claim it.
 */
export function certUriMatches(presented: string, expected: string): boolean {
  const got = URI_PARTS.exec(presented);
  const want = URI_PARTS.exec(expected);
  if (!got || !want) return presented.toLowerCase() === expected.toLowerCase();
  return `${want[1]}://${got[2]}${want[3]}`.toLowerCase() === presented.toLowerCase();
}

/** The URI SANs of a certificate as Node reports them (`subjectaltname: "URI:spiffe://…, DNS:…"`), in order. */
export function uriSans(subjectAltName: string | undefined): string[] {
  return (subjectAltName ?? '').split(', ').filter((san) => san.startsWith('URI:')).map((san) => san.slice(4));
}
