/**
 * The Workload API carries certificates as DER — several of them simply concatenated in one bytes field (a chain,
 * a bundle) — and keys as DER PKCS#8; Node's TLS takes PEM. These convert between the two; every certificate goes
 * through X509Certificate, so a malformed one is an error here, not at the first handshake.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { WorkloadApiErrors } from './errors.ts';

/** The certificates of a PEM text (any number of CERTIFICATE blocks), as one DER concatenation. */
export function pemCertificatesToDer(pems: readonly string[]): Buffer {
  const blocks = pems.flatMap((pem) => pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []);
  return Buffer.concat(blocks.map((block) => new X509Certificate(block).raw));
}

export function pemKeyToPkcs8Der(pem: string): Buffer {
  return createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
}

/**
 * Splits concatenated DER certificates: each is an ASN.1 SEQUENCE (tag 0x30) whose length is in short form (one byte
 * below 0x80) or long form (0x80 | n, then n big-endian bytes).
 */
export function splitDerCertificates(der: Buffer, field: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  let at = 0;
  while (at < der.length) {
    if (der[at] !== 0x30 || at + 2 > der.length) throw WorkloadApiErrors.response(`${field}: not a DER certificate at byte ${at}`);
    let length = der[at + 1]!;
    let header = 2;
    if (length & 0x80) {
      const n = length & 0x7f;
      if (n === 0 || n > 4 || at + 2 + n > der.length) throw WorkloadApiErrors.response(`${field}: bad DER length at byte ${at}`);
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + der[at + 2 + i]!;
      header += n;
    }
    const end = at + header + length;
    if (end > der.length) throw WorkloadApiErrors.response(`${field}: truncated DER certificate at byte ${at}`);
    try {
      out.push(new X509Certificate(der.subarray(at, end)));
    } catch (err) {
      throw WorkloadApiErrors.response(`${field}: ${(err as Error).message}`);
    }
    at = end;
  }
  return out;
}

export function pkcs8DerToPem(der: Buffer, field: string): string {
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string;
  } catch (err) {
    throw WorkloadApiErrors.response(`${field}: ${(err as Error).message}`);
  }
}
