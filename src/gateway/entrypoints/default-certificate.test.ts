import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { madeTraefikDefaultCertificate, traefikDefaultCertificate } from './default-certificate.ts';
import { generateSelfSigned } from './self-signed.ts';

test('TRAEFIK DEFAULT CERT: made on first need, self-signed, Traefik\'s CN and random .traefik.default SAN, a year of validity, key matching', async () => {
  assert.equal(madeTraefikDefaultCertificate(), undefined, 'not made before it is asked for');
  const [first, second] = await Promise.all([traefikDefaultCertificate(), traefikDefaultCertificate()]);
  assert.equal(first, second, 'callers that ask meanwhile get the same certificate');
  const { cert, key } = first;
  const x509 = new X509Certificate(cert);
  assert.equal(x509.subject, 'CN=TRAEFIK DEFAULT CERT');
  assert.equal(x509.issuer, x509.subject);
  const sans = (x509.subjectAltName ?? '').split(',').map((s) => s.trim());
  assert.equal(sans.length, 1);
  assert.match(sans[0]!, /^DNS:[0-9a-f]{32}\.[0-9a-f]{32}\.traefik\.default$/);
  const privateKey = createPrivateKey(key);
  assert.equal(privateKey.asymmetricKeyType, 'rsa');
  assert.equal(privateKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.ok(x509.checkPrivateKey(privateKey), 'the key is the certificate\'s');
  assert.ok(x509.verify(x509.publicKey), 'signed by its own key');
  assert.equal(x509.ca, false);
  assert.deepEqual(x509.keyUsage, ['1.3.6.1.5.5.7.3.1']); // node reports the extended key usage: serverAuth
  const now = Date.now();
  assert.ok(x509.validFromDate.getTime() <= now && now < x509.validToDate.getTime(), `valid now: ${x509.validFrom} – ${x509.validTo}`);
  const days = (x509.validToDate.getTime() - x509.validFromDate.getTime()) / 86_400_000;
  assert.ok(days >= 364 && days <= 366, `about a year: ${days} days`);
  assert.equal(await traefikDefaultCertificate(), first, 'generated once per process');
  assert.equal(madeTraefikDefaultCertificate(), first);
});

test('generateSelfSigned: random serials, the given name and validity start', async () => {
  const now = new Date('2030-01-02T03:04:05Z');
  const [a, b] = await Promise.all([generateSelfSigned('x', 'a.example', now), generateSelfSigned('x', 'a.example', now)]);
  const ca = new X509Certificate(a.cert);
  const cb = new X509Certificate(b.cert);
  assert.notEqual(ca.serialNumber, cb.serialNumber);
  assert.equal(ca.subjectAltName, 'DNS:a.example');
  assert.equal(ca.validFromDate.toISOString(), '2030-01-02T03:04:05.000Z');
  assert.equal(ca.validToDate.toISOString(), '2031-01-02T03:04:05.000Z');
  assert.ok(ca.checkPrivateKey(createPrivateKey(a.key)));
  assert.ok(!ca.checkPrivateKey(createPrivateKey(b.key)), 'each certificate has its own key');
});
