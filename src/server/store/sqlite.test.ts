import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { runStoreContract } from './contract.ts';
import { SqliteBackend } from './sqlite-backend.ts';

const dirs: string[] = [];
let current = '';
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

runStoreContract('sqlite', {
  async fresh() {
    current = mkdtempSync(join(tmpdir(), 'meshgate-store-'));
    dirs.push(current);
    return new SqliteBackend(current);
  },
  async reopen() {
    return new SqliteBackend(current);
  },
});
