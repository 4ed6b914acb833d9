/**
 * The SPIFFE identity of a TLS peer: the URI SAN of its verified certificate, parsed with src/lib/spiffe.ts and
 * checked against our trust domain. The chain itself was already verified by the TLS handshake against every current
 * root; this adds what OpenSSL does not know about — the identity inside.
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { parseSpiffeId, type SpiffeService } from '../lib/spiffe.ts';
import { ProxyErrors } from './errors.ts';

/** The URI SANs of a certificate, from Node's `subjectaltname` text ("URI:spiffe://…, DNS:…"). */
export function uriSans(cert: Pick<PeerCertificate, 'subjectaltname'> | undefined): string[] {
  const text = cert?.subjectaltname ?? '';
  const out: string[] = [];
  for (const part of text.split(/,\s*/)) if (part.startsWith('URI:')) out.push(part.slice(4));
  return out;
}

/** The service identity a certificate names, refusing anything that is not exactly one service SPIFFE ID in `trustDomain`. */
export function serviceIdentity(cert: Pick<PeerCertificate, 'subjectaltname'> | undefined, trustDomain: string): SpiffeService {
  const uris = uriSans(cert);
  if (uris.length !== 1) throw ProxyErrors.peerIdentity(`certificate must carry exactly one URI SAN, found ${uris.length}`);
  const id = parseSpiffeId(uris[0]!);
  if (id.kind !== 'service') throw ProxyErrors.peerIdentity(`certificate identity ${uris[0]} is not a service`);
  if (id.trustDomain !== trustDomain.toLowerCase()) {
    throw ProxyErrors.peerIdentity(`certificate trust domain ${JSON.stringify(id.trustDomain)} is not ${JSON.stringify(trustDomain)}`);
  }
  return id;
}

/** The verified peer's service identity of an established TLS socket. */
export function peerService(socket: TLSSocket, trustDomain: string): SpiffeService {
  if (!socket.authorized) throw ProxyErrors.peerIdentity(`peer certificate not verified: ${String(socket.authorizationError ?? 'none presented')}`);
  return serviceIdentity(socket.getPeerCertificate(), trustDomain);
}
