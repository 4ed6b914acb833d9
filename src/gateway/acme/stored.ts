/**
 * The records an ACME storage holds, in Traefik's acme.json shape (pkg/provider/acme local_store.go, account.go,
 * provider.go `CertAndStore`): per resolver an `Account` (email, the CA's registration, the RSA account key as
 * base64 PKCS#1 DER, the certificates' key type) and `Certificates` (domain main + SANs, the PEM chain and key,
 * each base64 as Go encodes `[]byte`, and the TLS store). A file written by Traefik loads here and the reverse.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

export interface AcmeDomain {
  main: string;
  sans?: string[];
}

export interface StoredAccount {
  Email: string;
  Registration: { body: Record<string, unknown>; uri: string } | null;
  /** base64 of the RSA key's PKCS#1 DER. */
  PrivateKey: string;
  /** lego's certcrypto.KeyType: `P256`, `P384`, `2048`, `4096`, `8192`. */
  KeyType: string;
}

export interface StoredCertificate {
  domain: AcmeDomain;
  /** base64 of the PEM chain (leaf first). */
  certificate: string;
  /** base64 of the PEM private key. */
  key: string;
  Store: string;
}

export interface StoredData {
  Account: StoredAccount | null;
  Certificates: StoredCertificate[] | null;
}

/** A certificate ready to serve: PEM text, the names it was ordered for, its validity. */
export interface IssuedCertificate {
  readonly domain: AcmeDomain;
  readonly certPem: string;
  readonly keyPem: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly stored: StoredCertificate;
}

export function domainNames(domain: AcmeDomain): string[] {
  return [...new Set([domain.main, ...(domain.sans ?? [])].map((d) => d.toLowerCase()))];
}

/** Decodes a stored certificate; undefined when it is empty or broken (Traefik drops those on load). */
export function issuedFrom(stored: StoredCertificate): IssuedCertificate | undefined {
  if (!stored.certificate || !stored.key || !stored.domain?.main) return undefined;
  try {
    const certPem = Buffer.from(stored.certificate, 'base64').toString('utf8');
    const keyPem = Buffer.from(stored.key, 'base64').toString('utf8');
    const x509 = new X509Certificate(certPem);
    return { domain: stored.domain, certPem, keyPem, notBefore: Date.parse(x509.validFrom), notAfter: Date.parse(x509.validTo), stored };
  } catch {
    // A certificate that does not parse is as good as none: the resolver orders it again.
    return undefined;
  }
}

export function storedFrom(domain: AcmeDomain, certPem: string, keyPem: string): StoredCertificate {
  return {
    domain: { main: domain.main, ...(domain.sans && domain.sans.length > 0 ? { sans: domain.sans } : {}) },
    certificate: Buffer.from(certPem, 'utf8').toString('base64'),
    key: Buffer.from(keyPem, 'utf8').toString('base64'),
    Store: 'default',
  };
}

/** The account key as PEM for acme-client, from Traefik's base64 PKCS#1 DER. */
export function accountKeyPem(account: StoredAccount): string {
  const key: KeyObject = createPrivateKey({ key: Buffer.from(account.PrivateKey, 'base64'), format: 'der', type: 'pkcs1' });
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** Traefik's stored form of an account key. */
export function accountKeyStored(pem: string): string {
  return (createPrivateKey(pem).export({ format: 'der', type: 'pkcs1' }) as Buffer).toString('base64');
}

/** Same domain record (Traefik compares with reflect.DeepEqual; order of SANs matters there too). */
export function sameDomain(a: AcmeDomain, b: AcmeDomain): boolean {
  return a.main === b.main && JSON.stringify(a.sans ?? []) === JSON.stringify(b.sans ?? []);
}
