/**
 * One Traefik TLS option set (dynamic `tls.options.<name>`, Traefik's pkg/tls Options) resolved into what node's
 * TLS needs: protocol bounds, OpenSSL cipher and group names for Go's, the client CA bundle read from files or
 * inline PEM, the client-auth mode and the ALPN list the entry point can honour. A problem is a coded error whose
 * message names the field (`tls.options.strict@file.cipherSuites[1]: …`); the runtime disables only the routers that
 * use the option set, as Traefik's TLS manager does.
 */
import { constants, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureVersion } from 'node:tls';
import { defineError } from '../../lib/errors.ts';

export const TlsOptionsErrors = {
  invalid: defineError('MG_GATEWAY_TLS_OPTIONS', 400, (field: string, problem: string) => `${field}: ${problem}`),
} as const;

export type ClientAuthType = 'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';

/** `tls.options.<name>` as written (validated in config/dynamic.ts). */
export interface TlsOptionsConfig {
  minVersion?: string;
  maxVersion?: string;
  cipherSuites?: string[];
  curvePreferences?: string[];
  clientAuth?: { caFiles?: string[]; clientAuthType?: ClientAuthType };
  sniStrict?: boolean;
  alpnProtocols?: string[];
  disableSessionTickets?: boolean;
}

export interface ResolvedTlsOptions {
  readonly name: string;
  /** Identity of everything below: equal keys build identical contexts (reused across reloads). */
  readonly key: string;
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** OpenSSL TLS 1.2 cipher list; undefined keeps node's default. */
  readonly ciphers: string | undefined;
  /** OpenSSL group list (`P-256:X25519`); undefined keeps node's default. */
  readonly ecdhCurve: string | undefined;
  /** Client CA bundle (PEM), when `clientAuth.caFiles` is set. */
  readonly ca: string | undefined;
  readonly clientAuthType: ClientAuthType;
  readonly sniStrict: boolean;
  readonly alpnProtocols: string[];
  /** OpenSSL secureOptions for the handshake: SSL_OP_NO_TICKET with `disableSessionTickets`, else 0. */
  readonly secureOptions: number;
}

const VERSIONS: Record<string, SecureVersion> = {
  VersionTLS10: 'TLSv1',
  VersionTLS11: 'TLSv1.1',
  VersionTLS12: 'TLSv1.2',
  VersionTLS13: 'TLSv1.3',
};
const VERSION_ORDER: SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Go's crypto/tls suite names (what Traefik accepts) → OpenSSL's names, for TLS 1.2 and below. */
const CIPHER_SUITES: Record<string, string> = {
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};
/** Names Traefik accepts that Go does not let a server configure (TLS 1.3 suites, the fallback SCSV): ignored, as there. */
const ACCEPTED_NOT_CONFIGURABLE = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_FALLBACK_SCSV']);

/** Go's CurveID names (and their numeric forms, as Traefik accepts) → OpenSSL group names. */
const CURVES: Record<string, string> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
  X25519MLKEM768: 'X25519MLKEM768',
  secp256r1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** Traefik's default when `alpnProtocols` is not set. */
export const TRAEFIK_DEFAULT_ALPN = ['h2', 'http/1.1', 'acme-tls/1'];

/**
 * Traefik's FileOrContent: a value that is PEM is the content itself, anything else is a path to read.
 * `field` names the configuration key for the error.
 */
export function readFileOrContent(value: string, field: string): string {
  if (value.includes('-----BEGIN ')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (err) {
    throw TlsOptionsErrors.invalid(field, `cannot read "${value}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * Resolves `tls.options.<name>`. `servedProtocols` are the ALPN protocols the entry point speaks (`http/1.1` for
 * node's HTTP/1 server): the configured list keeps only those, so a client is never told h2 when h2 is not served.
 * `prefix` names the block in error messages (a serversTransport's bounds and suites are resolved here too).
 */
export function resolveTlsOptions(name: string, config: TlsOptionsConfig, servedProtocols: readonly string[], prefix = `tls.options.${name}`): ResolvedTlsOptions {
  const field = (key: string) => `${prefix}.${key}`;
  const minVersion = version(config.minVersion, 'TLSv1.2', field('minVersion'));
  const maxVersion = version(config.maxVersion, 'TLSv1.3', field('maxVersion'));
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) {
    throw TlsOptionsErrors.invalid(field('maxVersion'), `${config.maxVersion} is below minVersion ${config.minVersion}`);
  }

  let ciphers: string | undefined;
  if (config.cipherSuites !== undefined) {
    const names: string[] = [];
    config.cipherSuites.forEach((suite, i) => {
      const openssl = CIPHER_SUITES[suite];
      if (openssl !== undefined) names.push(openssl);
      else if (!ACCEPTED_NOT_CONFIGURABLE.has(suite)) throw TlsOptionsErrors.invalid(`${field('cipherSuites')}[${i}]`, `invalid CipherSuite: ${suite}`);
    });
    if (names.length > 0) ciphers = names.join(':');
  }

  let ecdhCurve: string | undefined;
  if (config.curvePreferences !== undefined && config.curvePreferences.length > 0) {
    ecdhCurve = config.curvePreferences.map((curve, i) => {
      const openssl = CURVES[curve];
      if (openssl === undefined) throw TlsOptionsErrors.invalid(`${field('curvePreferences')}[${i}]`, `invalid CurveID in curvePreferences: ${curve}`);
      return openssl;
    }).join(':');
  }

  // Traefik: CA files alone mean RequireAndVerifyClientCert; the verifying modes need CA files.
  const caFiles = config.clientAuth?.caFiles ?? [];
  let ca: string | undefined;
  if (caFiles.length > 0) {
    ca = caFiles.map((file, i) => {
      const pem = readFileOrContent(file, `${field('clientAuth.caFiles')}[${i}]`);
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw TlsOptionsErrors.invalid(`${field('clientAuth.caFiles')}[${i}]`, `invalid certificate(s) in ${pem === file ? 'content' : file}`);
      return pem;
    }).join('\n');
  }
  const clientAuthType: ClientAuthType = config.clientAuth?.clientAuthType ?? (ca !== undefined ? 'RequireAndVerifyClientCert' : 'NoClientCert');
  if (ca === undefined && (clientAuthType === 'VerifyClientCertIfGiven' || clientAuthType === 'RequireAndVerifyClientCert')) {
    throw TlsOptionsErrors.invalid(field('clientAuth.clientAuthType'), `invalid clientAuthType: ${clientAuthType}, CAFiles is required`);
  }

  const wanted = config.alpnProtocols ?? TRAEFIK_DEFAULT_ALPN;
  const alpnProtocols = wanted.filter((p) => servedProtocols.includes(p));
  if (alpnProtocols.length === 0) {
    throw TlsOptionsErrors.invalid(field('alpnProtocols'), `none of ${wanted.join(', ')} is served by this entry point (it speaks ${servedProtocols.join(', ')})`);
  }

  // Go's SessionTicketsDisabled (Traefik pkg/tls/tlsmanager.go buildTLSConfig). OpenSSL's SSL_OP_NO_TICKET sends no
  // ticket in TLS 1.2; in TLS 1.3 it turns tickets stateful, and as the handshaking servers keep no session cache
  // (node's default), such a ticket never resumes a session — what Go's disabled tickets amount to.
  const secureOptions = config.disableSessionTickets === true ? constants.SSL_OP_NO_TICKET : 0;
  const resolved = { minVersion, maxVersion, ciphers, ecdhCurve, ca, clientAuthType, sniStrict: config.sniStrict ?? false, alpnProtocols, secureOptions };
  const key = createHash('sha256').update(JSON.stringify(resolved)).digest('hex');
  return { name, key, ...resolved };
}

function version(value: string | undefined, fallback: SecureVersion, field: string): SecureVersion {
  if (value === undefined || value === '') return fallback;
  const v = VERSIONS[value];
  if (v === undefined) throw TlsOptionsErrors.invalid(field, `unknown TLS version "${value}" (VersionTLS10 … VersionTLS13)`);
  return v;
}
