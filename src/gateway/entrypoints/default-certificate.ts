/**
 * Traefik's generated default certificate ("TRAEFIK DEFAULT CERT", pkg/tls/generate): what a TLS entry point presents
 * when no certificate matches the SNI and `tls.stores.default.defaultCertificate` is not set. Like Traefik's: an RSA
 * 2048 key, a random 128-bit serial, valid for a year from when it is made, server-auth key usages and one DNS SAN
 * `<32 hex>.<32 hex>.traefik.default`; one per process, unchanged by reloads.
 *
 * It is made on first need — the first TLS handshake without a configured default certificate — not at start-up:
 * building it loads @peculiar/x509 (self-signed.ts), about 10 MiB of heap that a gateway serving plain HTTP only would
 * otherwise carry for its whole life (docs/benchmarks.md, "Gateway memory"). Making it takes one RSA key generation;
 * handshakes that arrive meanwhile wait for the same promise.
 */
import { randomBytes } from 'node:crypto';
// Type only (erased): the module itself is imported on first need.
import type { PemPair } from './self-signed.ts';

export type { PemPair };

const DEFAULT_CN = 'TRAEFIK DEFAULT CERT';

let making: Promise<PemPair> | undefined;
let made: PemPair | undefined;

/** The process's TRAEFIK DEFAULT CERT, made on the first call; every later call gets the same pair. */
export function traefikDefaultCertificate(): Promise<PemPair> {
  making ??= import('./self-signed.ts')
    .then(({ generateSelfSigned }) => generateSelfSigned(DEFAULT_CN, `${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}.traefik.default`))
    .then((pair) => (made = pair), (err: unknown) => {
      making = undefined; // a failure (it should not happen) is retried by the next handshake
      throw err;
    });
  return making;
}

/** The TRAEFIK DEFAULT CERT when it has been made; undefined before (await traefikDefaultCertificate() first). */
export function madeTraefikDefaultCertificate(): PemPair | undefined {
  return made;
}
