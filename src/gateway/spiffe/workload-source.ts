/**
 * `spiffe.workloadAPIAddr`: the gateway's SVID from a SPIFFE Workload API (`meshgate agent`'s spiffe_workload_api,
 * or SPIRE's agent), as Traefik takes it with go-spiffe's workloadapi.NewX509Source. The address is checked when the
 * gateway starts, with go-spiffe's rules and words (a bare `localhost` has no tcp:// or unix:// scheme: Traefik
 * stops with "unable to create SPIFFE x509 source: …", and so does Meshgate). Then one FetchX509SVID stream is kept
 * open: its first answer is the first SVID (nothing SPIFFE is served before it, as in Traefik), every later answer
 * replaces it — the default (first) SVID, its chain and key, and the bundle of its own trust domain. An answer with
 * an empty mandatory field or a certificate that does not parse is logged and dropped (Workload API §4.5); a
 * broken stream is reopened after a backoff, except on InvalidArgument, which go-spiffe's client treats as final
 * (handleWatchError). Federated bundles are not used: the transports trust the SVID's own trust domain only.
 * grpc-js is loaded with the first stream, so a gateway without workloadAPIAddr never loads it.
 */
import { createPrivateKey } from 'node:crypto';
import type * as Grpc from '@grpc/grpc-js';
import { backoffDelay } from '../../api/watch.ts';
import type { Logger } from '../../lib/logger.ts';
import { uriSans } from '../../lib/spiffe.ts';
import { parseWorkloadApiAddress, type WorkloadApiAddress } from '../../lib/workload-api/address.ts';
import { pkcs8DerToPem, splitDerCertificates } from '../../lib/workload-api/der.ts';
import { WorkloadApiErrors } from '../../lib/workload-api/errors.ts';
import type { X509SvidResponse } from '../../lib/workload-api/definition.ts';
import { Errors } from '../../lib/errors.ts';
import { parseSpiffeUri } from './authorize.ts';
import { svidHolder, type Svid, type SvidSource } from './source.ts';

export interface WorkloadApiSourceOptions {
  readonly addr: string;
  readonly logger: Logger;
  /** Reconnection backoff; default 1 s doubling to 30 s (go-spiffe's). */
  readonly backoff?: { initialMs?: number; maxMs?: number };
}

/** Throws MG_INVALID_CONFIG for an address go-spiffe refuses, before anything is dialled. */
export function workloadApiSvidSource(options: WorkloadApiSourceOptions): SvidSource {
  let address: WorkloadApiAddress;
  try {
    address = parseWorkloadApiAddress(options.addr, 'spiffe.workloadAPIAddr');
  } catch (err) {
    // Traefik's words when NewX509Source fails (cmd/traefik/traefik.go).
    const message = (err as Error).message.replace(/^spiffe\.workloadAPIAddr: /, '');
    throw Errors.invalidConfig(`spiffe.workloadAPIAddr: unable to create SPIFFE x509 source: ${message}`);
  }
  const { logger } = options;
  const holder = svidHolder();
  let closed = false;
  let client: Grpc.Client | undefined;
  let call: Grpc.ClientReadableStream<X509SvidResponse> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;

  const accept = (response: X509SvidResponse): void => {
    let next: Svid;
    try {
      next = toSvid(response);
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'spiffe: Workload API answer dropped');
      return;
    }
    failures = 0;
    const svid = holder.reader.current();
    if (svid && svid.certPem === next.certPem && svid.keyPem === next.keyPem && svid.bundle.join('') === next.bundle.join('')) return;
    logger.info({ id: next.id, address: address.target }, 'spiffe: SVID from the Workload API updated');
    holder.publish(next);
  };

  const open = async (): Promise<void> => {
    const { grpc, WorkloadApiClient, SECURITY_HEADER } = await import('../../lib/workload-api/definition.ts');
    if (closed) return;
    // A channel-owned subchannel closes with the channel; the shared pool would keep the socket (and process) alive.
    client ??= new WorkloadApiClient(address.target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    const metadata = new grpc.Metadata();
    metadata.set(SECURITY_HEADER, 'true');
    const stream = (client as unknown as { FetchX509SVID(req: object, md: Grpc.Metadata): Grpc.ClientReadableStream<X509SvidResponse> }).FetchX509SVID({}, metadata);
    call = stream;
    stream.on('data', accept);
    stream.on('error', (err: Grpc.ServiceError) => {
      if (closed || call !== stream) return;
      if (err.code === grpc.status.INVALID_ARGUMENT) {
        logger.error({ address: address.target, err: err.details }, 'spiffe: the Workload API refused the request; not retrying');
        return;
      }
      failures++;
      const delay = backoffDelay(failures, { initialMs: options.backoff?.initialMs ?? 1_000, maxMs: options.backoff?.maxMs ?? 30_000 });
      logger.warn({ address: address.target, err: err.details, retryInMs: Math.round(delay) }, 'spiffe: the Workload API stream failed; reconnecting');
      retry = setTimeout(() => void open().catch(fatal), delay);
    });
    // The server ended the stream cleanly (it should not): open a new one at once, as the spec asks of clients.
    stream.on('status', (status: Grpc.StatusObject) => {
      if (!closed && call === stream && status.code === grpc.status.OK) retry = setTimeout(() => void open().catch(fatal), 1_000);
    });
  };
  const fatal = (err: unknown) => logger.error({ err }, 'spiffe: the Workload API client stopped');
  void open().catch(fatal);

  return {
    ...holder.reader,
    close() {
      closed = true;
      clearTimeout(retry);
      call?.cancel();
      client?.close();
    },
  };
}

/** The default (first) SVID of an answer, in PEM, checked as go-spiffe's parseX509SVIDResponse checks it. */
export function toSvid(response: X509SvidResponse): Svid {
  const first = response.svids[0];
  if (!first) throw WorkloadApiErrors.response('there were no SVIDs in the response');
  if (first.spiffe_id === '' || first.x509_svid.length === 0 || first.x509_svid_key.length === 0 || first.bundle.length === 0) {
    throw WorkloadApiErrors.response('an SVID has an empty mandatory field (spiffe_id, x509_svid, x509_svid_key, bundle)');
  }
  try {
    parseSpiffeUri(first.spiffe_id, 'spiffe_id');
  } catch (err) {
    throw WorkloadApiErrors.response((err as Error).message);
  }
  const chain = splitDerCertificates(first.x509_svid, 'x509_svid');
  const bundle = splitDerCertificates(first.bundle, 'bundle');
  // The leaf must carry the SVID's ID as its URI SAN (x509svid.ParseRaw reads the ID from the certificate).
  if (uriSans(chain[0]!.subjectAltName)[0] !== first.spiffe_id) throw WorkloadApiErrors.response(`the leaf certificate is not an SVID of ${first.spiffe_id}`);
  const keyPem = pkcs8DerToPem(first.x509_svid_key, 'x509_svid_key');
  if (!chain[0]!.checkPrivateKey(createPrivateKey(keyPem))) throw WorkloadApiErrors.response('x509_svid_key does not match the leaf certificate');
  return { certPem: chain.map((c) => c.toString()).join(''), keyPem, bundle: bundle.map((c) => c.toString()), id: first.spiffe_id };
}
