/**
 * How the gateway benchmarks start `meshgate gateway`: as installed (the compiled dist/ through bin/meshgate, with the
 * launcher's V8 flags) when dist/ is built from the current sources, else src/ through type stripping — whose
 * compiler adds 25–30 MiB of resident memory and some CPU, so the reports label which one ran.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The newest modification time of a file under `dir` whose name ends with `suffix`. */
function newest(dir: string, suffix: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(suffix)) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** `<repo>/bin/meshgate` when dist/ is built from the current sources; undefined when it is missing or stale. */
export function builtLauncher(repo: string): string | undefined {
  if (!existsSync(join(repo, 'dist/cli/main.js'))) return undefined;
  return newest(join(repo, 'dist'), '.js') >= newest(join(repo, 'src'), '.ts') ? join(repo, 'bin/meshgate') : undefined;
}
