/**
 * The HTTPS API's TLS settings (Consul's ports.https with tls.defaults / tls.https): the server's certificate and
 * key, and with `verifyIncoming` a client certificate that must chain to `caFile` — the handshake fails without
 * one, as Consul's HTTPS listener with verify_incoming does. Files are read once at start; a missing or unreadable
 * one is a configuration error naming the key it came from.
 */
import { readFileSync } from 'node:fs';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { Errors } from '../../lib/errors.ts';
import type { HttpsOptions } from '../options.ts';

export function httpsServerOptions(https: HttpsOptions): HttpsServerOptions {
  if (https.verifyIncoming && !https.caFile) throw Errors.invalidConfig('tls: verify_incoming is set for HTTPS but no ca_file is given to verify client certificates with');
  return {
    cert: readPem(https.certFile, 'cert_file'),
    key: readPem(https.keyFile, 'key_file'),
    ...(https.caFile ? { ca: readPem(https.caFile, 'ca_file') } : {}),
    requestCert: https.verifyIncoming,
    rejectUnauthorized: https.verifyIncoming,
    minVersion: https.minVersion ?? 'TLSv1.2',
    ...(https.handshakeTimeoutMs !== undefined ? { handshakeTimeout: https.handshakeTimeoutMs } : {}),
  };
}

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw Errors.invalidConfig(`tls: cannot read ${key} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
