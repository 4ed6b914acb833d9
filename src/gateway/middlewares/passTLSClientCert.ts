/**
 * passTLSClientCert: passes the client's TLS certificate to the service, as X-Forwarded-Tls-Client-Cert (pem:
 * base64 DER of each certificate, comma-separated, URL-escaped) and/or X-Forwarded-Tls-Client-Cert-Info (the
 * chosen fields: Subject="…";Issuer="…";SerialNumber="…";NB="…";NA="…";SAN="…", URL-escaped)
 * (Traefik pkg/middlewares/passtlsclientcert). Incoming copies of both headers are always removed first.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket, DetailedPeerCertificate } from 'node:tls';
import { z } from 'zod';
import type { GatewayRequest } from '../http/types.ts';
import { registerMiddleware } from './registry.ts';

const dnSchema = (extra: Record<string, z.ZodOptional<z.ZodBoolean>>) =>
  z
    .object({
      country: z.boolean().optional(),
      province: z.boolean().optional(),
      locality: z.boolean().optional(),
      organization: z.boolean().optional(),
      commonName: z.boolean().optional(),
      serialNumber: z.boolean().optional(),
      domainComponent: z.boolean().optional(),
      ...extra,
    })
    .strict();

export const passTLSClientCertSchema = z
  .object({
    pem: z.boolean().optional(),
    info: z
      .object({
        notAfter: z.boolean().optional(),
        notBefore: z.boolean().optional(),
        sans: z.boolean().optional(),
        serialNumber: z.boolean().optional(),
        subject: dnSchema({ organizationalUnit: z.boolean().optional() }).optional(),
        issuer: dnSchema({}).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

type DnConfig = {
  country?: boolean; province?: boolean; locality?: boolean; organization?: boolean; organizationalUnit?: boolean;
  commonName?: boolean; serialNumber?: boolean; domainComponent?: boolean;
};

// Traefik's order and short names.
const DN_FIELDS: Array<[keyof DnConfig, string]> = [
  ['domainComponent', 'DC'],
  ['country', 'C'],
  ['province', 'ST'],
  ['locality', 'L'],
  ['organization', 'O'],
  ['organizationalUnit', 'OU'],
  ['commonName', 'CN'],
  ['serialNumber', 'SN'],
];
const NODE_DN_KEY: Record<string, string> = { DC: 'DC', C: 'C', ST: 'ST', L: 'L', O: 'O', OU: 'OU', CN: 'CN', SN: 'serialNumber' };

function parseDn(dn: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of dn.split('\n')) {
    const eq = line.indexOf('=');
    if (eq === -1) continue;
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

function formatDn(dn: string, config: DnConfig): string {
  const parsed = parseDn(dn);
  const parts: string[] = [];
  for (const [field, short] of DN_FIELDS) {
    if (!config[field]) continue;
    for (const v of parsed.get(NODE_DN_KEY[short]!) ?? []) parts.push(`${short}=${v}`);
  }
  return parts.join(',');
}

function sans(cert: X509Certificate): string {
  const alt = cert.subjectAltName;
  if (!alt) return '';
  return alt
    .split(', ')
    .map((entry) => entry.slice(entry.indexOf(':') + 1))
    .join(',');
}

/** The certificates the client presented, leaf first (following issuer links, without the self-signed root). */
function peerChain(req: GatewayRequest): X509Certificate[] {
  const socket = req.raw?.socket as TLSSocket | undefined;
  if (!req.tls || !socket || typeof socket.getPeerCertificate !== 'function') return [];
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    const x = new X509Certificate(cert.raw);
    if (out.length > 0 && x.subject === x.issuer) break;
    out.push(x);
    cert = cert.issuerCertificate;
  }
  return out;
}

registerMiddleware('passTLSClientCert', {
  schema: passTLSClientCertSchema,
  create(config) {
    const pem = config.pem === true;
    const info = config.info;
    const wantInfo = info !== undefined;
    const describe = (cert: X509Certificate): string => {
      const parts: string[] = [];
      if (info?.subject) parts.push(`Subject="${formatDn(cert.subject, info.subject)}"`);
      if (info?.issuer) parts.push(`Issuer="${formatDn(cert.issuer, info.issuer)}"`);
      if (info?.serialNumber) parts.push(`SerialNumber="${BigInt(`0x${cert.serialNumber}`).toString()}"`);
      if (info?.notBefore) parts.push(`NB="${Math.floor(Date.parse(cert.validFrom) / 1000)}"`);
      if (info?.notAfter) parts.push(`NA="${Math.floor(Date.parse(cert.validTo) / 1000)}"`);
      if (info?.sans) parts.push(`SAN="${sans(cert)}"`);
      return parts.join(';');
    };
    return (next) => (req, rw) => {
      delete req.headers['x-forwarded-tls-client-cert'];
      delete req.headers['x-forwarded-tls-client-cert-info'];
      if (pem || wantInfo) {
        const chain = peerChain(req);
        if (chain.length > 0) {
          if (pem) req.headers['x-forwarded-tls-client-cert'] = encodeURIComponent(chain.map((c) => c.raw.toString('base64')).join(','));
          if (wantInfo) req.headers['x-forwarded-tls-client-cert-info'] = encodeURIComponent(chain.map(describe).join(','));
        }
      }
      return next(req, rw);
    };
  },
});
