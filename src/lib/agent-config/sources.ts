/**
 * Which files a set of `-config-file` / `-config-dir` arguments reads, in order (Consul's config/builder.go,
 * sourcesFromPath): a file is read whatever its name if it ends in .json or .hcl, and is an error otherwise; a
 * directory contributes its `*.json` and `*.hcl` files sorted by name (byte order), not recursing into
 * subdirectories, following symlinks, and skipping other files with a warning.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type ConfigFormat = 'json' | 'hcl';

export interface ConfigSource {
  readonly path: string;
  readonly format: ConfigFormat;
}

export interface SourceList {
  readonly sources: ConfigSource[];
  readonly warnings: string[];
  readonly problems: string[];
}

export function formatOf(path: string): ConfigFormat | undefined {
  if (path.endsWith('.json')) return 'json';
  if (path.endsWith('.hcl')) return 'hcl';
  return undefined;
}

/** Expands each path (file or directory) in the order given. */
export function listSources(paths: readonly string[]): SourceList {
  const out: SourceList = { sources: [], warnings: [], problems: [] };
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      out.problems.push(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    if (!isDir) {
      const format = formatOf(path);
      if (format) out.sources.push({ path, format });
      else out.problems.push(`file ${path} has unknown extension; must be .hcl or .json`);
      continue;
    }
    // Go's sort.Strings order: by UTF-16 code units here, which equals byte order for the ASCII names config dirs hold.
    const names = readdirSync(path).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const full = join(path, name);
      let stat;
      try {
        stat = statSync(full); // follows symlinks, as Consul resolves them before looking
      } catch (err) {
        out.problems.push(`cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        continue;
      }
      if (stat.isDirectory()) continue;
      const format = formatOf(name);
      if (format) out.sources.push({ path: full, format });
      else out.warnings.push(`skipping file ${full}, extension must be .hcl or .json`);
    }
  }
  return out;
}
