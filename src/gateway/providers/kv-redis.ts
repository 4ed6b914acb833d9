/**
 * The Redis store of the KV provider (`providers.redis`, through ioredis), as Traefik's kvtools/redis store works:
 * keys are the plain paths (`traefik/http/routers/web/rule`) holding the raw value; a listing is SCAN
 * `MATCH <rootKey>/*` then MGET; changes arrive as keyspace notifications — on connecting it asks the server to send
 * them (`CONFIG SET notify-keyspace-events KEA`, an error ignored: a managed Redis may refuse CONFIG, and then the
 * operator must enable them, as Traefik's docs say) and subscribes to `__keyspace@<db>__:<rootKey>/*`. Every
 * notification, and every reconnection, lists again and the whole configuration is rebuilt. Only imported when
 * `providers.redis` is configured.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { KvWatcher } from './kv.ts';
import { clientTlsOptions, relister } from './kv.ts';
import type { RedisKvConfig } from '../config/schema/providers.ts';

/** Redis glob metacharacters in a key are matched literally. */
const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

function endpointOptions(config: RedisKvConfig): RedisOptions {
  const endpoint = config.endpoints[0]!;
  const colon = endpoint.lastIndexOf(':');
  const host = (colon > 0 ? endpoint.slice(0, colon) : endpoint).replace(/^\[|\]$/g, '');
  const port = colon > 0 ? Number(endpoint.slice(colon + 1)) : 6379;
  const tls = config.tls;
  return {
    host,
    port,
    db: config.db,
    ...(config.username !== undefined ? { username: config.username } : {}),
    ...(config.password !== undefined ? { password: config.password } : {}),
    ...(tls ? { tls: clientTlsOptions(tls) } : {}),
    // Reconnect for ever with a capped delay: the gateway keeps its last configuration meanwhile.
    retryStrategy: (times: number) => Math.min(250 * 2 ** Math.min(times, 6), 15_000),
    maxRetriesPerRequest: 1,
    lazyConnect: true,
  };
}

export function redisKvWatcher(config: RedisKvConfig): KvWatcher {
  const options = endpointOptions(config);
  return {
    async watchTree(prefix, onPairs, onError, signal) {
      const client = new Redis(options);
      // Subscribed on every `ready` rather than by ioredis's resubscription, which forgets a pattern whose first
      // PSUBSCRIBE failed (Redis down at start); subscribing twice to one pattern is one subscription.
      const subscriber = new Redis({ ...options, autoResubscribe: false });
      client.on('error', (err: Error) => onError(err));
      subscriber.on('error', (err: Error) => onError(err));
      const list = async (): Promise<Array<[string, string]>> => {
        const keys = new Set<string>();
        let cursor = '0';
        do {
          const [next, found] = await client.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 500);
          for (const key of found) keys.add(key);
          cursor = next;
        } while (cursor !== '0');
        const names = [...keys];
        const pairs: Array<[string, string]> = [];
        for (let i = 0; i < names.length; i += 500) {
          const chunk = names.slice(i, i + 500);
          const values = await client.mget(...chunk);
          // A key deleted between SCAN and MGET (null), or one holding another type, is not part of the configuration.
          chunk.forEach((key, j) => {
            const value = values[j];
            if (typeof value === 'string') pairs.push([key, value]);
          });
        }
        return pairs;
      };
      const relist = relister(list, onPairs, onError, signal);
      client.on('ready', () => {
        client.config('SET', 'notify-keyspace-events', 'KEA').catch(() => undefined);
        relist();
      });
      subscriber.on('pmessage', relist);
      subscriber.on('ready', () => {
        // Listing once subscribed covers changes made while no subscription was listening.
        subscriber.psubscribe(`__keyspace@${config.db}__:${globEscape(prefix)}*`).then(relist, (err: Error) => onError(err));
      });
      subscriber.connect().catch(() => undefined);
      client.connect().catch(() => undefined);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      client.disconnect();
      subscriber.disconnect();
    },
  };
}
