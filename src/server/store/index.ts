/** The state store's public face: open a store on a backend chosen by name. */
import type { Logger } from '../../lib/logger.ts';
import { EtcdBackend } from './etcd-backend.ts';
import { SqliteBackend } from './sqlite-backend.ts';
import { StateStore } from './state-store.ts';

export { StateStore, ErrStoreClosed, ErrStoreConflict } from './state-store.ts';
export { SqliteBackend } from './sqlite-backend.ts';
export { EtcdBackend, DEFAULT_ETCD_PREFIX } from './etcd-backend.ts';
export { defineIndex, ErrUnknownIndex } from './secondary-index.ts';
export type * from './types.ts';

export type StoreOptions = (
  | { backend: 'sqlite'; dataDir: string }
  /** Every server replica sharing `endpoints` and `prefix` (default `/meshgate`) shares one state. */
  | { backend: 'etcd'; endpoints: string[]; prefix?: string }
) & {
  /** Where the backend reports what it recovers from on its own (a failed WAL checkpoint, a watch reconnect). */
  logger?: Logger;
};

export async function openStore(options: StoreOptions): Promise<StateStore> {
  const logger = options.logger ? { logger: options.logger } : {};
  switch (options.backend) {
    case 'sqlite':
      return StateStore.open(new SqliteBackend(options.dataDir, logger));
    case 'etcd': {
      const backend = new EtcdBackend({ endpoints: options.endpoints, ...(options.prefix ? { prefix: options.prefix } : {}), ...logger });
      try {
        return await StateStore.open(backend);
      } catch (err) {
        await backend.close();
        throw err;
      }
    }
  }
}
