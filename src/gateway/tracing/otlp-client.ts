/**
 * What every OTLP exporter of the gateway (traces, logs, access logs) builds the same way from Traefik's
 * `otlp.http` / `otlp.grpc` blocks: the client TLS files read once at start-up, and a gRPC channel's URL,
 * credentials and metadata. `fail` turns a problem into the caller's own error (MG_GATEWAY_TRACING_SETUP, …), so
 * a bad file stops the gateway from starting with a message naming the key.
 */
import { readFileSync } from 'node:fs';
import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import type { z } from 'zod';
import type { otlpTlsSchema } from './schema.ts';

type OtlpTls = z.infer<typeof otlpTlsSchema>;
type Fail = (message: string) => Error;

export interface TlsFiles { ca?: Buffer; cert?: Buffer; key?: Buffer }

export function readOtlpTls(tls: OtlpTls, where: string, fail: Fail): TlsFiles {
  const read = (file: string | undefined, key: string): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw fail(`${where}.tls.${key}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const out: TlsFiles = {};
  const ca = read(tls.ca, 'ca');
  const cert = read(tls.cert, 'cert');
  const key = read(tls.key, 'key');
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  return out;
}

/** The `http` exporter's node agent options for `tls` (none without it: the system bundle, as Traefik). */
export function httpAgentOptions(tls: OtlpTls | undefined, where: string, fail: Fail): { httpAgentOptions?: TlsFiles & { rejectUnauthorized: boolean } } {
  return tls ? { httpAgentOptions: { ...readOtlpTls(tls, where, fail), rejectUnauthorized: !tls.insecureSkipVerify } } : {};
}

interface GrpcBlock { endpoint: string; insecure: boolean; headers?: Record<string, string> | undefined; tls?: OtlpTls | undefined }

/** A gRPC exporter's options: `host:port` (Traefik's SplitHostPort check), TLS unless `insecure`, headers as metadata. */
export function grpcExporterOptions(grpc: GrpcBlock, where: string, fail: Fail): { url: string; credentials: ChannelCredentials; metadata: Metadata } {
  const hostPort = grpc.endpoint.replace(/^[a-z]+:\/\//i, '');
  if (!/^[^/]+:\d+$/.test(hostPort)) throw fail(`${where}.endpoint "${grpc.endpoint}": expected host:port`);
  const metadata = new Metadata();
  for (const [name, value] of Object.entries(grpc.headers ?? {})) metadata.set(name, value);
  let channel: ChannelCredentials;
  if (grpc.insecure) channel = credentials.createInsecure();
  else {
    const tls = grpc.tls ? readOtlpTls(grpc.tls, where, fail) : {};
    channel = credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null, { rejectUnauthorized: !(grpc.tls?.insecureSkipVerify ?? false) });
  }
  return { url: `${grpc.insecure ? 'http' : 'https'}://${hostPort}`, credentials: channel, metadata };
}
