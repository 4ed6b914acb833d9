/**
 * The webhook's serving certificate when none is given by flag — consul-k8s's webhook-cert-manager role: a CA made
 * at start (ECDSA P-256, @peculiar/x509 over node's WebCrypto) signs a server certificate for the webhook Service's
 * DNS names (`<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.cluster.local`) and any extra names or IPs.
 * The CA certificate is the `caBundle` the API server must trust; the command writes it to a file and patches it
 * into the MutatingWebhookConfiguration. Certificates live a year; a restart makes new ones.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { isIP } from 'node:net';
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const YEAR_MS = 365 * 86_400_000;

export interface WebhookCertificate {
  /** PEM of the server certificate. */
  cert: string;
  /** PEM (PKCS#8) of its private key. */
  key: string;
  /** PEM of the CA that signed it: the webhook configuration's caBundle. */
  caBundle: string;
}

/** DNS names of a Service as a cluster resolves them. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/** A fresh CA and a server certificate for `names` (DNS names or IP addresses). */
export async function generateWebhookCertificate(names: string[], now = new Date()): Promise<WebhookCertificate> {
  const notAfter = new Date(now.getTime() + YEAR_MS);
  const caKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex'),
    name: [{ CN: ['Meshgate connect injector CA'] }],
    notBefore: now,
    notAfter,
    keys: caKeys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex'),
    subject: [{ CN: [names[0] ?? 'meshgate-connect-injector'] }],
    issuer: ca.subjectName,
    notBefore: now,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  return {
    cert: `${leaf.toString('pem')}\n`,
    key: KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string,
    caBundle: `${ca.toString('pem')}\n`,
  };
}
