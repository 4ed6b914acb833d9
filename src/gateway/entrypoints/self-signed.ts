/**
 * Self-signed server certificates (RSA 2048, SHA-256, a random 128-bit serial, a year of validity, server-auth key
 * usages, one DNS SAN) built with @peculiar/x509 over node's WebCrypto. Loaded only when a certificate must be made
 * (default-certificate.ts imports it on the first TLS handshake that needs Traefik's default certificate): the
 * package and its dependencies weigh about 10 MiB of heap, which a gateway that never terminates TLS does not pay.
 */
// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata API installed first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';

export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

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
