/**
 * Certificates for TLS tests, made with the openssl CLI on demand: self-signed leaves, CAs, and leaves signed by a
 * CA, written as `<name>.crt` / `<name>.key` in the test's directory. RSA 2048 (what every gateway test used), valid
 * for `days` (default 1). The PEM text is read only when a test asks for it (`cert`/`key` are lazy getters), so a
 * test that only hands file paths to the gateway never reads them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** The certificate's PEM, read on first use. */
  readonly cert: string;
  /** The private key's PEM, read on first use. */
  readonly key: string;
}

export interface CertificateOptions {
  /** Subject CN. */
  cn: string;
  /** subjectAltName entries with their type (`DNS:a.example`, `IP:127.0.0.1`, `URI:spiffe://…`); default `DNS:<cn>`, `[]` for none. */
  sans?: string[];
  days?: number;
  /** Serial number in hex (openssl -set_serial 0x…); default: openssl's random one. */
  serialHex?: string;
  /** Signed by this CA (made with `certificateAuthority`); default: self-signed. */
  issuer?: CertificateFiles;
  /** More `-addext` extensions (e.g. `extendedKeyUsage=serverAuth`, `authorityInfoAccess=OCSP;URI:…`). */
  extensions?: string[];
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function files(dir: string, name: string): CertificateFiles {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  let cert: string | undefined;
  let key: string | undefined;
  return {
    certFile,
    keyFile,
    get cert() { return (cert ??= readFileSync(certFile, 'utf8')); },
    get key() { return (key ??= readFileSync(keyFile, 'utf8')); },
  };
}

/** A leaf certificate `<dir>/<name>.crt` with its key `<name>.key`. */
export function makeCertificate(dir: string, name: string, options: CertificateOptions): CertificateFiles {
  const out = files(dir, name);
  const sans = options.sans ?? [`DNS:${options.cn}`];
  const ext = [...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []), ...(options.extensions ?? [])].flatMap((e) => ['-addext', e]);
  const days = String(options.days ?? 1);
  const serial = options.serialHex !== undefined ? ['-set_serial', `0x${options.serialHex}`] : [];
  if (options.issuer === undefined) {
    openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', days, '-subj', `/CN=${options.cn}`, ...ext, ...serial,
      '-keyout', out.keyFile, '-out', out.certFile]);
    return out;
  }
  const csr = join(dir, `${name}.csr`);
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${options.cn}`, ...ext, '-keyout', out.keyFile, '-out', csr]);
  openssl(dir, ['x509', '-req', '-in', csr, '-CA', options.issuer.certFile, '-CAkey', options.issuer.keyFile,
    ...(serial.length > 0 ? serial : ['-CAcreateserial']), '-out', out.certFile, '-days', days, '-copy_extensions', 'copy']);
  return out;
}

/** A self-signed CA (`basicConstraints=CA:TRUE` from openssl's defaults) to sign leaves with. */
export function certificateAuthority(dir: string, name: string, cn = name, days = 1): CertificateFiles {
  const out = files(dir, name);
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', String(days), '-subj', `/CN=${cn}`, '-keyout', out.keyFile, '-out', out.certFile]);
  return out;
}

/** A certificate's notAfter in Unix seconds, as openssl reads it. */
export function notAfterSeconds(certFile: string): number {
  const end = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-enddate']).toString().trim().split('=')[1]!;
  return Math.floor(Date.parse(end) / 1000);
}
