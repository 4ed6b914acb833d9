/**
 * The etcd store of the KV provider (`providers.etcd`, etcd v3 API through the `etcd3` package): a watch on the
 * prefix `<rootKey>/`; each batch of events, and each (re)connection of the watch, lists the prefix again and the
 * whole configuration is rebuilt — Traefik's kvtools/etcdv3 WatchTree does the same (event, then a full listing).
 * `username`/`password` are etcd's password auth, `tls` the client certificate and CA of the gRPC channel; every
 * endpoint is a member the client may use. Only imported when `providers.etcd` is configured (etcd3 loads grpc-js).
 */
import { readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import type { Logger } from '../../lib/logger.ts';
import type { KvWatcher } from './kv.ts';
import { relister } from './kv.ts';
import type { EtcdKvConfig } from '../config/schema/providers.ts';

export function etcdKvWatcher(config: EtcdKvConfig, logger: Logger): KvWatcher {
  if (config.tls?.insecureSkipVerify) {
    // etcd3's gRPC channel has no switch for it; saying so beats a silent difference.
    logger.warn('etcd: tls.insecureSkipVerify is not supported; the server certificate is verified (give its CA as tls.ca)');
  }
  const scheme = config.tls ? 'https' : 'http';
  const hosts = config.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `${scheme}://${e}`));
  const tls = config.tls;
  const client = new Etcd3({
    hosts,
    dialTimeout: 5_000,
    ...(config.username !== undefined ? { auth: { username: config.username, password: config.password ?? '' } } : {}),
    ...(tls && (tls.ca || tls.cert)
      ? {
          credentials: {
            rootCertificate: tls.ca ? readFileSync(tls.ca) : (undefined as unknown as Buffer),
            ...(tls.cert ? { certChain: readFileSync(tls.cert) } : {}),
            ...(tls.key ? { privateKey: readFileSync(tls.key) } : {}),
          },
        }
      : {}),
  });
  return {
    async watchTree(prefix, onPairs, onError, signal) {
      const relist = relister(
        async () => Object.entries(await client.getAll().prefix(prefix).strings()),
        onPairs,
        onError,
        signal,
      );
      const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      relist();
      // create() waits for the watch stream; with etcd down that is until it comes back, so abort must not wait on it.
      let watcher: Awaited<ReturnType<ReturnType<ReturnType<Etcd3['watch']>['prefix']>['create']>> | undefined;
      client.watch().prefix(prefix).create().then((created) => {
        watcher = created;
        created.on('connected', relist);
        created.on('data', relist);
        created.on('disconnected', (err: Error) => onError(err));
        created.on('error', (err: Error) => onError(err));
        // Events between the first listing and the stream's start are covered by listing again now.
        relist();
      }, (err: Error) => onError(err));
      await stopped;
      await watcher?.cancel().catch(() => undefined);
      client.close();
    },
  };
}
