/**
 * Traefik's generated default certificate ("TRAEFIK DEFAULT CERT", pkg/tls/generate): what a TLS entry point presents
 * when no certificate matches the SNI and `tls.stores.default.defaultCertificate` is not set. Like Traefik's: an RSA
 * 2048 key, a random 128-bit serial, valid for a year from now, server-auth key usages and one DNS SAN
 * `<32 hex>.<32 hex>.traefik.default`. @peculiar/x509 builds the certificate over node's WebCrypto, which is async, so
 * the process's certificate is made once when this module loads (top-level await): every importer, and so every entry
 * point, finds it ready before it listens, `traefikDefaultCertificate()` stays synchronous for the TLS configuration
 * built with each reload, no request waits for it, and it does not change on reloads.
 */
// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata API installed first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';

export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

const DEFAULT_CN = 'TRAEFIK DEFAULT CERT';
const YEAR_MS = 365 * 86_400_000;
const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };

x509.cryptoProvider.set(webcrypto);

/** A self-signed server certificate for `CN=<commonName>` with one DNS SAN, valid for a year from `now`. */
export async function generateSelfSigned(commonName: string, dnsName: string, now = new Date()): Promise<PemPair> {
  const keys = await webcrypto.subtle.generateKey(RSA_SHA256, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex'),
    name: [{ CN: [commonName] }],
    notBefore: now,
    notAfter: new Date(now.getTime() + YEAR_MS),
    keys,
    signingAlgorithm: RSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.dataEncipherment | x509.KeyUsageFlags.keyAgreement,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: dnsName }]),
    ],
  });
  const key = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { cert: `${certificate.toString('pem')}\n`, key };
}

const generated = await generateSelfSigned(DEFAULT_CN, `${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}.traefik.default`);

/** The process's TRAEFIK DEFAULT CERT, with Traefik's random `<hex>.<hex>.traefik.default` name. */
export function traefikDefaultCertificate(): PemPair {
  return generated;
}
