/**
 * TLS client options for a SPIFFE servers transport (go-spiffe's tlsconfig.MTLSClientConfig as Traefik uses it):
 * the gateway's SVID as client certificate, the bundle as the only trust anchors, no host-name check — the
 * backend's identity is its SVID's URI SAN, judged by the transport's authorizer.
 */
import type { ConnectionOptions } from 'node:tls';
import { uriSans } from '../../lib/spiffe.ts';
import type { SpiffeAuthorizer } from './authorize.ts';
import type { Svid } from './source.ts';

export function spiffeTlsOptions(svid: Svid, authorize: SpiffeAuthorizer): ConnectionOptions {
  return {
    cert: svid.certPem,
    key: svid.keyPem,
    ca: [...svid.bundle],
    rejectUnauthorized: true,
    checkServerIdentity: (_host, cert) => authorize(uriSans(cert.subjectaltname)[0]),
  };
}
