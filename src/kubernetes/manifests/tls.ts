/**
 * The injector's serving certificate for `meshgate k8s manifests`: a fresh CA (its certificate becomes the webhook's
 * `caBundle`, its key is thrown away, so nothing else can ever be signed by it) and a leaf for the injector Service's
 * DNS names, ECDSA P-256, valid ten years like the chart's `genCA`/`genSignedCert` pair. Each render makes new ones.
 */
// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata API installed first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import type { WebhookTls } from './common.ts';

x509.cryptoProvider.set(webcrypto);

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const TEN_YEARS_MS = 3650 * 86_400_000;
const b64 = (text: string): string => Buffer.from(text).toString('base64');

export async function webhookTls(serviceName: string, namespace: string, now = new Date()): Promise<WebhookTls> {
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + TEN_YEARS_MS);
  const caKeys = await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex'), name: [{ CN: [`${serviceName}-ca`] }], notBefore, notAfter, keys: caKeys, signingAlgorithm: ECDSA,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keys = await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
  const dnsNames = [serviceName, `${serviceName}.${namespace}`, `${serviceName}.${namespace}.svc`];
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex'), subject: [{ CN: [serviceName] }], issuer: ca.subjectName, notBefore, notAfter,
    publicKey: keys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: ECDSA,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value }))),
    ],
  });
  const key = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { caBundle: b64(`${ca.toString('pem')}\n`), cert: b64(`${leaf.toString('pem')}\n`), key: b64(key) };
}
