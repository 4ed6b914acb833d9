/**
 * Where the gateway's SVID comes from (SvidSource). Traefik reads it from a SPIFFE Workload API
 * (`spiffe.workloadAPIAddr`: workload-source.ts); Meshgate's mesh also issues SPIFFE X.509 identities directly, so
 * `spiffe.mesh` takes the gateway's Connect leaf
 * for `serviceName` and the CA roots from the server's API (`/v1/agent/connect/ca/leaf/<name>` and `…/roots`,
 * blocking queries), the same certificates Connect sidecars use. As in Traefik, nothing is served over a SPIFFE
 * transport before the first SVID has arrived; a renewed leaf or rotated root is picked up for new connections.
 */
import { EventEmitter } from 'node:events';
import type { ConsulClient } from '../../api/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { uriSans } from '../../lib/spiffe.ts';
import { X509Certificate } from 'node:crypto';
import { watchConnectCertificates } from '../providers/consulcatalog-connect.ts';

export interface Svid {
  /** The leaf (and any intermediates), PEM. */
  readonly certPem: string;
  readonly keyPem: string;
  /** The trust bundle: CA certificates, PEM. */
  readonly bundle: readonly string[];
  /** The SVID's SPIFFE ID (its URI SAN). */
  readonly id: string;
}

export interface SvidSource {
  current(): Svid | undefined;
  /** Called with every new SVID after the first. */
  onChange(listener: (svid: Svid) => void): () => void;
  /** Resolves with the first SVID; rejects if `signal` aborts first. */
  ready(signal?: AbortSignal): Promise<Svid>;
  close(): void;
}

export interface MeshSvidSourceOptions {
  client: ConsulClient;
  serviceName: string;
  logger: Logger;
}

export function meshSvidSource(options: MeshSvidSourceOptions): SvidSource {
  const holder = svidHolder();
  const controller = new AbortController();
  watchConnectCertificates({
    client: options.client,
    serviceName: options.serviceName,
    signal: controller.signal,
    watch: () => ({ signal: controller.signal, backoff: { initialMs: 250, maxMs: 15_000 } }),
    onChange: (certs) => {
      const id = uriSans(new X509Certificate(certs.certPem).subjectAltName)[0] ?? '';
      options.logger.info({ id }, 'spiffe: SVID from the mesh updated');
      holder.publish({ certPem: certs.certPem, keyPem: certs.keyPem, bundle: certs.roots, id });
    },
    onStopped: (what, err) => options.logger.error({ watch: what, err }, 'spiffe: the mesh SVID watch stopped'),
  });
  return {
    ...holder.reader,
    close: () => controller.abort(),
  };
}

/** The SVID a source holds and how it is read: both sources (mesh, Workload API) publish into one of these. */
export function svidHolder(): { publish(svid: Svid): void; readonly reader: Omit<SvidSource, 'close'> } {
  const events = new EventEmitter();
  let svid: Svid | undefined;
  return {
    publish(next) {
      svid = next;
      events.emit('svid', next);
    },
    reader: {
      current: () => svid,
      onChange(listener) {
        events.on('svid', listener);
        return () => events.off('svid', listener);
      },
      ready(signal) {
        if (svid) return Promise.resolve(svid);
        return new Promise((resolve, reject) => {
          const done = (next: Svid): void => {
            signal?.removeEventListener('abort', abort);
            resolve(next);
          };
          const abort = (): void => {
            events.off('svid', done);
            reject(signal!.reason);
          };
          events.once('svid', done);
          signal?.addEventListener('abort', abort, { once: true });
        });
      },
    },
  };
}
