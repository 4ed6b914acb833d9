/**
 * `npm run bench [-- <name>…] [-- flags]`: runs `bench/<name>/run.ts` for each name given, or every `bench/*\/run.ts`
 * there is, one after the other, each in its own Node process (so one benchmark's sockets and heap do not colour
 * the next). Arguments starting with `-` are passed on to each benchmark.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;
const argv = process.argv.slice(2);
const flags = argv.filter((a, i) => a.startsWith('-') || (i > 0 && argv[i - 1]!.startsWith('--') && !argv[i - 1]!.includes('=') && !isName(a)));
const names = argv.filter((a) => !flags.includes(a));

function isName(a: string): boolean {
  return existsSync(join(here, a, 'run.ts'));
}

const available = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(here, d.name, 'run.ts')))
  .map((d) => d.name)
  .sort();
const unknown = names.filter((n) => !available.includes(n));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ') || 'none'}\n`);
  process.exit(2);
}
const selected = names.length > 0 ? names : available;
let failed = 0;
for (const name of selected) {
  process.stderr.write(`\n=== bench/${name} ===\n`);
  const r = spawnSync(process.execPath, [join(here, name, 'run.ts'), ...flags], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`bench/${name} failed (${r.status ?? r.signal})\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
