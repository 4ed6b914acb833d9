/**
 * A certificate tailscaled handed over, checked before it reaches the TLS store (a pair that does not parse or whose
 * key does not match would be refused there), and Traefik's renewal test (pkg/provider/tailscale renewCertificates
 * and isValidCert): every day, a certificate that is not valid for its domain 14 days from now — tailscaled renews
 * its own 14 days before expiry — is fetched again. Traefik's check also verifies the chain against the system's
 * roots; a Tailscale certificate is Let's Encrypt's, so that adds nothing but a dependency on the host's trust store,
 * and Meshgate checks the validity windows and the name only.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { CertPair } from './localapi.ts';

/** How long before expiry tailscaled renews (tailscale ipn/localapi cert.go, cited by Traefik's provider). */
export const RENEW_BEFORE_MS = 14 * 24 * 3_600_000;

export interface HeldCertificate extends CertPair {
  readonly domain: string;
  /** Validity windows of the leaf and each intermediate, epoch ms. */
  readonly windows: ReadonlyArray<{ readonly from: number; readonly to: number }>;
  /** The leaf names the domain (a certificate for another name is fetched again at the next check). */
  readonly namesDomain: boolean;
  readonly notAfter: number;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The pair as held, or what is wrong with it. */
export function checkPair(domain: string, pair: CertPair): HeldCertificate | { problem: string } {
  const blocks = pair.certPem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return { problem: 'the answer holds no certificate' };
  let chain: X509Certificate[];
  try {
    chain = blocks.map((b) => new X509Certificate(b));
  } catch (err) {
    return { problem: `certificate does not parse: ${(err as Error).message}` };
  }
  const leaf = chain[0]!;
  let keyMatches: boolean;
  try {
    keyMatches = leaf.checkPrivateKey(createPrivateKey(pair.keyPem));
  } catch (err) {
    return { problem: `private key does not parse: ${(err as Error).message}` };
  }
  if (!keyMatches) return { problem: 'the private key does not match the certificate' };
  const windows = chain.map((c) => ({ from: Date.parse(c.validFrom), to: Date.parse(c.validTo) }));
  return { domain, certPem: pair.certPem, keyPem: pair.keyPem, windows, namesDomain: leaf.checkHost(domain) !== undefined, notAfter: windows[0]!.to };
}

/** Traefik's isValidCert at `now + 14 days`: the name matches and every certificate of the chain is within its window then. */
export function renewalDue(held: HeldCertificate, now: number): boolean {
  const at = now + RENEW_BEFORE_MS;
  return !held.namesDomain || held.windows.some((w) => at < w.from || at > w.to);
}
