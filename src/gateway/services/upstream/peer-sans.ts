/**
 * Traefik v3.7's serversTransport `peerCertSANs` (pkg/tls certificate.go VerifyPeerCertificate with SANs): the
 * upstream is accepted when its certificate carries at least one of the configured Subject Alternative Names — a
 * `DNSName` matched as a TLS client matches a host name (wildcards included), a `URI` compared whole — instead of
 * the server name the connection was dialled with. The chain itself is verified by the caller (rejectUnauthorized).
 */
import tls, { type PeerCertificate } from 'node:tls';
import { uriSans } from '../../../lib/spiffe.ts';

export interface PeerCertSan {
  readonly type: 'DNSName' | 'URI';
  readonly value: string;
}

/** Why `cert` carries none of `sans`; undefined when one of them is there. */
export function peerSanProblem(cert: PeerCertificate, sans: readonly PeerCertSan[]): Error | undefined {
  const uris = uriSans(cert.subjectaltname);
  for (const san of sans) {
    if (san.type === 'URI' ? uris.includes(san.value) : dnsNameMatches(cert, san.value)) return undefined;
  }
  const wanted = sans.map((s) => `${s.type}:${s.value}`).join(', ');
  return new Error(`peer certificate SANs (${cert.subjectaltname ?? 'none'}) match none of peerCertSANs ${wanted}`);
}

/** node's own host-name rule, on the certificate's DNS SANs only (no IP, no CN fallback: the type says DNSName). */
function dnsNameMatches(cert: PeerCertificate, name: string): boolean {
  const dns = (cert.subjectaltname ?? '').split(', ').filter((san) => san.startsWith('DNS:'));
  if (dns.length === 0) return false;
  return tls.checkServerIdentity(name, { ...cert, subjectaltname: dns.join(', ') }) === undefined;
}
