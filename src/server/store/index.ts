/** The state store's public face: open a store on a backend chosen by name. */
import { SqliteBackend } from './sqlite-backend.ts';
import { StateStore } from './state-store.ts';

export { StateStore, ErrStoreClosed } from './state-store.ts';
export { SqliteBackend } from './sqlite-backend.ts';
export { defineIndex, ErrUnknownIndex } from './secondary-index.ts';
export type * from './types.ts';

export interface StoreOptions {
  backend: 'sqlite';
  dataDir: string;
}

export async function openStore(options: StoreOptions): Promise<StateStore> {
  switch (options.backend) {
    case 'sqlite':
      return StateStore.open(new SqliteBackend(options.dataDir));
  }
}
