/**
 * The gateway's Connect identity for `providers.consulCatalog.connectAware`: blocking watches on
 * `/v1/agent/connect/ca/roots` and `/v1/agent/connect/ca/leaf/<serviceName>` (Traefik's watchConnectTLS with its
 * `connect_roots` and `connect_leaf` plans), reporting the pair whenever it is complete and differs from the last
 * one — a renewed leaf or a rotated root rebuilds the Connect transports, new connections use the new pair.
 * The token in `endpoint.token` needs `service:write` on `serviceName` for the leaf, as in Consul.
 */
import type { ConsulClient, WatchOptions } from '../../api/client.ts';
import type { ConnectCertificates } from './consulcatalog-build.ts';

export interface ConnectWatchOptions {
  client: ConsulClient;
  serviceName: string;
  signal: AbortSignal;
  watch: (what: string) => WatchOptions;
  onChange: (certs: ConnectCertificates) => void;
  onStopped: (what: string, err: unknown) => void;
}

export function watchConnectCertificates(options: ConnectWatchOptions): void {
  const { client, serviceName, signal } = options;
  let roots: string[] | undefined;
  let leaf: { certPem: string; keyPem: string } | undefined;
  let last = '';
  const report = (): void => {
    if (!roots || roots.length === 0 || !leaf) return;
    const next: ConnectCertificates = { roots, ...leaf };
    const text = JSON.stringify(next);
    if (text === last) return;
    last = text;
    options.onChange(next);
  };
  const run = async (what: string, loop: () => Promise<void>): Promise<void> => {
    try {
      await loop();
    } catch (err) {
      if (!signal.aborted) options.onStopped(what, err);
    }
  };
  const rootsWatch = 'agent/connect/ca/roots';
  void run(rootsWatch, async () => {
    for await (const { value } of client.watch((q) => client.connect.caRoots(q), options.watch(rootsWatch))) {
      if (signal.aborted) return;
      roots = (value.Roots ?? []).map((root) => root.RootCert);
      report();
    }
  });
  const leafWatch = `agent/connect/ca/leaf/${serviceName}`;
  void run(leafWatch, async () => {
    for await (const { value } of client.watch((q) => client.connect.caLeaf(serviceName, q), options.watch(leafWatch))) {
      if (signal.aborted) return;
      leaf = { certPem: value.CertPEM, keyPem: value.PrivateKeyPEM };
      report();
    }
  });
}
