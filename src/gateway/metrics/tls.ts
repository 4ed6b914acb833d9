/**
 * The TLS labels of Traefik's request and certificate metrics. A request over TLS is counted with `tls_version` and
 * `tls_cipher` as Traefik's metrics middleware takes them (pkg/middlewares/metrics/metrics.go ServeHTTP with
 * pkg/tls GetVersion — "1.0" … "1.3" — and GetCipherName — Go's suite name, which is the IANA one node reports as
 * `standardName`); a served certificate by `cn`, `serial` (decimal) and `sans` (DNS names sorted, joined with ","),
 * as cmd/traefik's appendCertMetric labels its expiry gauge. Both are computed once per connection or certificate.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { CertificateExpiry } from './sink.ts';

export interface TlsLabels {
  readonly version: string;
  readonly cipher: string;
}

const VERSIONS: Record<string, string> = { TLSv1: '1.0', 'TLSv1.1': '1.1', 'TLSv1.2': '1.2', 'TLSv1.3': '1.3' };

/** Per connection: a keep-alive connection's requests share one answer. */
const bySocket = new WeakMap<object, TlsLabels>();

/** The TLS labels of a request's connection, or undefined when it is not TLS. */
export function tlsLabels(socket: object | null | undefined): TlsLabels | undefined {
  if (socket === null || socket === undefined || (socket as TLSSocket).encrypted !== true) return undefined;
  let labels = bySocket.get(socket);
  if (labels === undefined) {
    const tls = socket as TLSSocket;
    const protocol = tls.getProtocol?.() ?? '';
    labels = { version: VERSIONS[protocol] ?? 'unknown', cipher: tls.getCipher?.()?.standardName ?? 'unknown' };
    bySocket.set(socket, labels);
  }
  return labels;
}

/** Parsed once per PEM (a reload usually serves the same certificates again). */
let byPem = new Map<string, CertificateExpiry | null>();

/** The expiry labels and time of each served certificate (PEM, leaf first); an unreadable one is left out. */
export function certificateExpiries(pems: Iterable<string>): CertificateExpiry[] {
  const next = new Map<string, CertificateExpiry | null>();
  const out: CertificateExpiry[] = [];
  for (const pem of pems) {
    let expiry = next.get(pem) ?? byPem.get(pem);
    if (expiry === undefined) expiry = parse(pem);
    next.set(pem, expiry);
    if (expiry !== null) out.push(expiry);
  }
  // Only the certificates served now stay cached.
  byPem = next;
  return out;
}

function parse(pem: string): CertificateExpiry | null {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem);
  } catch {
    return null;
  }
  const cn = /^CN=(.*)$/m.exec(x509.subject)?.[1] ?? '';
  const dns = (x509.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)).sort();
  return {
    cn,
    serial: BigInt(`0x${x509.serialNumber}`).toString(),
    sans: dns.join(','),
    notAfter: Math.floor(new Date(x509.validTo).getTime() / 1000),
  };
}
