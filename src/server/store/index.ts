/** The state store's public face: open a store on a backend chosen by name. */
import type { Logger } from '../../lib/logger.ts';
import { SqliteBackend } from './sqlite-backend.ts';
import { StateStore } from './state-store.ts';

export { StateStore, ErrStoreClosed } from './state-store.ts';
export { SqliteBackend } from './sqlite-backend.ts';
export { defineIndex, ErrUnknownIndex } from './secondary-index.ts';
export type * from './types.ts';

export interface StoreOptions {
  backend: 'sqlite';
  dataDir: string;
  /** Where the backend reports what it recovers from on its own (a failed WAL checkpoint); default `store`. */
  logger?: Logger;
}

export async function openStore(options: StoreOptions): Promise<StateStore> {
  switch (options.backend) {
    case 'sqlite':
      return StateStore.open(new SqliteBackend(options.dataDir, options.logger ? { logger: options.logger } : {}));
  }
}
