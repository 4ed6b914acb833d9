/**
 * The Consul store of the KV provider (`providers.consul`): one blocking query on `/v1/kv/<rootKey>/?recurse`
 * through the repository's Consul client, so a change reaches the gateway as soon as the server commits it (Traefik's
 * kvtools/consul WatchTree is the same blocking list). `token` goes on every request, `username`/`password` as HTTP
 * basic auth, `tls` as the client's transport; the endpoint gets `https://` when `tls` is set, as Traefik does.
 */
import { kvValueText } from '../../api/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { clientFor } from './consulcatalog.ts';
import type { KvWatcher } from './kv.ts';
import type { ConsulKvConfig } from '../config/schema/providers.ts';

export function consulKvWatcher(config: ConsulKvConfig, logger: Logger): KvWatcher {
  if (config.namespaces && config.namespaces.length > 0) {
    logger.warn({ namespaces: config.namespaces }, 'consul: namespaces (Consul Enterprise) are not supported; the default namespace is read');
  }
  const endpoint = config.endpoints[0]!;
  const client = clientFor({
    address: endpoint,
    scheme: config.tls ? 'https' : 'http',
    ...(config.token !== undefined ? { token: config.token } : {}),
    ...(config.username !== undefined || config.password !== undefined ? { httpAuth: { username: config.username ?? '', password: config.password ?? '' } } : {}),
    ...(config.tls ? { tls: config.tls } : {}),
  });
  return {
    async watchTree(prefix, onPairs, onError, signal) {
      const options = { signal, backoff: { initialMs: 250, maxMs: 15_000 }, onError: (err: unknown) => onError(err as Error) };
      for await (const { value } of client.watch((q) => client.kv.list(prefix, q), options)) {
        if (signal.aborted) return;
        onPairs(value.map((pair) => [pair.Key, kvValueText(pair)]));
      }
    },
  };
}
