/**
 * The certificates of Consul's built-in CA provider (agent/connect/ca/provider_consul.go, agent/connect/generate.go),
 * made with @peculiar/x509 over Node's WebCrypto: a self-signed root whose URI SAN is the cluster's signing SPIFFE ID,
 * leaves for services and agents (CN the service or node, the SPIFFE URI SAN, client+server auth, valid from one
 * minute ago to tolerate clock drift), and the cross-signed copy of a new root made with the old root's key during a
 * rotation, so leaves of the new root chain to the old root for peers that do not know the new one yet.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, createPrivateKey, createPublicKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { defineError } from '../../lib/errors.ts';

x509.cryptoProvider.set(webcrypto);

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type KeyGenParams = webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams;
type KeyImportParams = webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
type SignParams = webcrypto.Algorithm | webcrypto.EcdsaParams;

export type PrivateKeyType = 'ec' | 'rsa';

export const ErrKeyConfig = defineError('MG_CA_KEY_CONFIG', 400, (message: string) => message);

/** Clock drift allowance: certificates start one minute in the past (Consul's effectiveNow). */
const BACKDATE_MS = 60_000;
/** A cross-signed root is only needed while leaves of the old root are in use (Consul: 7 days). */
const CROSS_SIGNED_TTL_MS = 7 * 86_400_000;

interface KeyAlgorithm {
  readonly generate: KeyGenParams;
  readonly import: KeyImportParams;
  readonly sign: SignParams;
}

/** Consul's accepted key configurations (structs.CommonCAProviderConfig.ValidateKeyConfig). */
export function keyAlgorithm(type: PrivateKeyType, bits: number): KeyAlgorithm {
  if (type === 'ec') {
    const curve = bits === 256 ? 'P-256' : bits === 384 ? 'P-384' : undefined;
    if (!curve) throw ErrKeyConfig(`EC key length must be one of (224, 256, 384, 521) bits; Meshgate supports 256 and 384, got ${bits}`);
    const hash = bits === 384 ? 'SHA-384' : 'SHA-256';
    return { generate: { name: 'ECDSA', namedCurve: curve }, import: { name: 'ECDSA', namedCurve: curve }, sign: { name: 'ECDSA', hash } };
  }
  if (bits !== 2048 && bits !== 4096) throw ErrKeyConfig(`RSA key length must be 2048 or 4096 bits, got ${bits}`);
  const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  return { generate: { ...rsa, modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]) }, import: rsa, sign: rsa };
}

export interface SigningKey {
  readonly type: PrivateKeyType;
  readonly bits: number;
  readonly keys: CryptoKeyPair;
}

export async function generateSigningKey(type: PrivateKeyType, bits: number): Promise<SigningKey> {
  const alg = keyAlgorithm(type, bits);
  const keys = (await webcrypto.subtle.generateKey(alg.generate, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { type, bits, keys };
}

export function privateKeyPem(key: SigningKey): string {
  return KeyObject.from(key.keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** Reads a stored PKCS#8 key back, with its public half derived from it. */
export async function importSigningKey(pem: string, type: PrivateKeyType, bits: number): Promise<SigningKey> {
  const alg = keyAlgorithm(type, bits);
  const privateObject = createPrivateKey(pem);
  const privateKey = await webcrypto.subtle.importKey('pkcs8', privateObject.export({ type: 'pkcs8', format: 'der' }), alg.import, true, ['sign']);
  const spki = createPublicKey(privateObject).export({ type: 'spki', format: 'der' });
  const publicKey = await webcrypto.subtle.importKey('spki', spki, alg.import, true, ['verify']);
  return { type, bits, keys: { privateKey, publicKey } };
}

/** Colon-separated hex, Consul's form for key IDs, serials and fingerprints (connect.HexString). */
export function colonHex(bytes: ArrayBuffer | Uint8Array): string {
  return Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex').match(/../g)!.join(':');
}

function serial(): string {
  // A positive 128-bit serial (the top bit cleared so DER does not read it as negative).
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

export interface IssuedCertificate {
  readonly pem: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-1 fingerprint in colon hex: Consul's root ID (connect.CalculateCertFingerprint). */
  readonly fingerprint: string;
  /** The subject key identifier in colon hex: Consul's SigningKeyID. */
  readonly subjectKeyId: string;
}

function describe(cert: x509.X509Certificate): IssuedCertificate {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  return {
    pem: `${cert.toString('pem')}\n`,
    serialNumber: colonHex(Buffer.from(cert.serialNumber, 'hex')),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    fingerprint: colonHex(createHash('sha1').update(Buffer.from(cert.rawData)).digest()),
    subjectKeyId: ski ? colonHex(Buffer.from(ski.keyId, 'hex')) : '',
  };
}

/** A self-signed root CA: CN `pri-<id>.consul.ca.<first 8 of the cluster id>.consul`, the signing SPIFFE ID as URI SAN. */
export async function createRoot(key: SigningKey, params: { trustDomain: string; ttlMs: number; now?: Date }): Promise<IssuedCertificate> {
  const now = new Date((params.now ?? new Date()).getTime() - BACKDATE_MS);
  const cn = `pri-${randomBytes(4).toString('hex')}.consul.ca.${params.trustDomain.slice(0, 8)}.consul`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [cn] }],
    notBefore: now,
    notAfter: new Date(now.getTime() + params.ttlMs),
    keys: key.keys,
    signingAlgorithm: keyAlgorithm(key.type, key.bits).sign,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(key.keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(key.keys.publicKey),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${params.trustDomain}` }]),
    ],
  });
  return describe(cert);
}

export interface LeafRequest {
  /** The certificate's CN: the service name or the node name. */
  readonly commonName: string;
  readonly spiffeUri: string;
  readonly dnsNames?: readonly string[];
  readonly ttlMs: number;
  readonly now?: Date;
}

export interface IssuedLeaf extends IssuedCertificate {
  readonly privateKeyPem: string;
}

/** A leaf for a service or agent, signed by `issuer` (the active root's certificate and key). */
export async function signLeaf(issuer: { certPem: string; key: SigningKey }, request: LeafRequest): Promise<IssuedLeaf> {
  // Valid from a minute ago (clock drift) to a full TTL from now: Consul also moves NotAfter back a minute, which
  // costs nothing at 72h but would leave a short test TTL born expired.
  const issuedAt = request.now ?? new Date();
  const now = new Date(issuedAt.getTime() - BACKDATE_MS);
  const leafKey = await generateSigningKey(issuer.key.type, issuer.key.bits);
  const issuerCert = new x509.X509Certificate(issuer.certPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: [{ CN: [request.commonName] }],
    issuer: issuerCert.subjectName,
    notBefore: now,
    notAfter: new Date(issuedAt.getTime() + request.ttlMs),
    publicKey: leafKey.keys.publicKey,
    signingKey: issuer.key.keys.privateKey,
    signingAlgorithm: keyAlgorithm(issuer.key.type, issuer.key.bits).sign,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.dataEncipherment | x509.KeyUsageFlags.keyAgreement | x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
      await x509.SubjectKeyIdentifierExtension.create(leafKey.keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.key.keys.publicKey),
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: request.spiffeUri },
        ...(request.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ]),
    ],
  });
  return { ...describe(cert), privateKeyPem: privateKeyPem(leafKey) };
}

/**
 * The new root re-issued under the old root (Consul's CrossSignCA): same subject, public key and key identifier as
 * the new root, issued and signed by the old one. Served as the new root's intermediate during a rotation.
 */
export async function crossSign(oldRoot: { certPem: string; key: SigningKey }, newRootPem: string, now = new Date()): Promise<IssuedCertificate> {
  const oldCert = new x509.X509Certificate(oldRoot.certPem);
  const newCert = new x509.X509Certificate(newRootPem);
  const from = new Date(now.getTime() - BACKDATE_MS);
  const extensions = newCert.extensions.filter((e) => !(e instanceof x509.AuthorityKeyIdentifierExtension));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: newCert.subjectName,
    issuer: oldCert.subjectName,
    notBefore: from,
    notAfter: new Date(Math.min(from.getTime() + CROSS_SIGNED_TTL_MS, newCert.notAfter.getTime())),
    publicKey: newCert.publicKey,
    signingKey: oldRoot.key.keys.privateKey,
    signingAlgorithm: keyAlgorithm(oldRoot.key.type, oldRoot.key.bits).sign,
    extensions: [...extensions, await x509.AuthorityKeyIdentifierExtension.create(oldRoot.key.keys.publicKey)],
  });
  return describe(cert);
}
