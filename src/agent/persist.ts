/**
 * What the agent keeps in its data dir (Consul's data_dir for a client): the node ID, so the node keeps its identity
 * across restarts, and the services and checks registered through the local API (files are read again on start;
 * API registrations would otherwise be lost). Files are written atomically (temp + rename) with mode 0600 — they
 * hold registration tokens.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentCheckRegistration, AgentServiceRegistration } from '../api/types.ts';
import { AgentErrors } from './errors.ts';

export interface PersistedState {
  services: Array<{ registration: AgentServiceRegistration; token: string }>;
  checks: Array<{ registration: AgentCheckRegistration; token: string }>;
}

export async function writeAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

export async function loadNodeId(dataDir: string): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'node-id');
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return id.toLowerCase();
    throw AgentErrors.invalid(`${file}: not a UUID`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomUUID();
  await writeAtomic(file, `${id}\n`, 0o600);
  return id;
}

export async function loadLocalRegistrations(dataDir: string): Promise<PersistedState> {
  try {
    const doc = JSON.parse(await readFile(join(dataDir, 'local-registrations.json'), 'utf8')) as Partial<PersistedState>;
    return { services: doc.services ?? [], checks: doc.checks ?? [] };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { services: [], checks: [] };
    throw AgentErrors.configFile(join(dataDir, 'local-registrations.json'), (err as Error).message);
  }
}

export async function saveLocalRegistrations(dataDir: string, state: PersistedState): Promise<void> {
  await writeAtomic(join(dataDir, 'local-registrations.json'), `${JSON.stringify(state, null, 2)}\n`, 0o600);
}
