/**
 * Traefik's generated default certificate ("TRAEFIK DEFAULT CERT", pkg/tls/generate): what a TLS entry point presents
 * when no certificate matches the SNI and `tls.stores.default.defaultCertificate` is not set. Node can sign but not
 * build an X.509 certificate, so the few DER structures of one self-signed ECDSA P-256 certificate are written here;
 * node:crypto makes the key and the signature. Generated once per process, so it does not change on reloads.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

const DEFAULT_CN = 'TRAEFIK DEFAULT CERT';

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else if (n < 0x100) length = Buffer.from([0x81, n]);
  else if (n < 0x10000) length = Buffer.from([0x82, n >> 8, n & 0xff]);
  else throw new Error('DER value too long');
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const sequence = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));
const integer = (bytes: Buffer) => der(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
const utf8 = (s: string) => der(0x0c, Buffer.from(s, 'utf8'));
const octets = (b: Buffer) => der(0x04, b);
const bits = (b: Buffer) => der(0x03, Buffer.concat([Buffer.from([0]), b]));

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const value of parts.slice(2)) {
    const chunk: number[] = [value & 0x7f];
    for (let v = value >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}

/** UTCTime (YYMMDDHHMMSSZ), valid for years 1950–2049 — enough for a certificate made now. */
function utcTime(date: Date): Buffer {
  const iso = date.toISOString();
  return der(0x17, Buffer.from(`${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`));
}

function pem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A self-signed server certificate for `CN=<commonName>` with one DNS SAN, valid a year from an hour ago. */
export function generateSelfSigned(commonName: string, dnsName: string, now = new Date()): PemPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecdsaWithSha256 = sequence(oid('1.2.840.10045.4.3.2'));
  const name = sequence(set(sequence(oid('2.5.4.3'), utf8(commonName))));
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const notBefore = new Date(now.getTime() - 3_600_000);
  const notAfter = new Date(now.getTime() + 365 * 86_400_000);
  const extensions = der(0xa3, sequence(
    sequence(oid('2.5.29.17'), octets(sequence(der(0x82, Buffer.from(dnsName, 'ascii'))))),
    sequence(oid('2.5.29.15'), der(0x01, Buffer.from([0xff])), octets(der(0x03, Buffer.from([0x07, 0x80])))),
    sequence(oid('2.5.29.37'), octets(sequence(oid('1.3.6.1.5.5.7.3.1')))),
  ));
  const tbs = sequence(
    der(0xa0, integer(Buffer.from([2]))),
    integer(serial),
    ecdsaWithSha256,
    name,
    sequence(utcTime(notBefore), utcTime(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const certificate = sequence(tbs, ecdsaWithSha256, bits(signature));
  return { cert: pem('CERTIFICATE', certificate), key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

let generated: PemPair | undefined;

/** The process's TRAEFIK DEFAULT CERT, with Traefik's random `<hex>.<hex>.traefik.default` name. */
export function traefikDefaultCertificate(): PemPair {
  generated ??= generateSelfSigned(DEFAULT_CN, `${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}.traefik.default`);
  return generated;
}
