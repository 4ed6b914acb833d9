/**
 * Reading configuration text (YAML, TOML or JSON, chosen by file extension as Traefik does) and turning zod issues
 * into `key.path: problem` lines that name the exact offending key.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { isScalar, parseDocument, visit } from 'yaml';
import { parse as parseToml } from 'smol-toml';
import type { ZodError } from 'zod';
import { ConfigErrors } from './errors.ts';

export type ConfigFormat = 'yaml' | 'toml' | 'json';

export function formatOf(file: string): ConfigFormat | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === '.yml' || ext === '.yaml') return 'yaml';
  if (ext === '.toml') return 'toml';
  if (ext === '.json') return 'json';
  return undefined;
}

/** Parses configuration text; an empty document is an empty object (Traefik accepts an empty dynamic file). */
export function parseConfigText(text: string, format: ConfigFormat, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    if (format === 'yaml') value = parseYamlUniqueKeys(text);
    // smol-toml returns null-prototype objects and Date values; a JSON round trip gives plain data like the others.
    else if (format === 'toml') value = JSON.parse(JSON.stringify(parseToml(text)));
    else value = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    throw ConfigErrors.parse(file, (err as Error).message.split('\n')[0] ?? String(err));
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw ConfigErrors.parse(file, 'the document must be a mapping of keys');
  return value as Record<string, unknown>;
}

/**
 * YAML with duplicate keys refused, in linear time. The yaml package's own `uniqueKeys` check compares each key
 * with every earlier key of its map, so a map of 16,000 routers took seconds and one of 400,000 hours; here each
 * map's scalar keys go through a Set. The message keeps the package's wording and position.
 */
function parseYamlUniqueKeys(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: false, merge: true });
  if (doc.errors.length > 0) throw doc.errors[0]!;
  let duplicate: Error | undefined;
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (!seen.has(key)) {
          seen.add(key);
          continue;
        }
        const at = isScalar(pair.key) && pair.key.range ? doc.contents && lineColumn(text, pair.key.range[0]) : undefined;
        duplicate = new Error(`Map keys must be unique${at ? ` at line ${at.line}, column ${at.column}` : ''}`);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (duplicate) throw duplicate;
  return doc.toJS();
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  const format = formatOf(file);
  if (!format) throw ConfigErrors.read(file, 'unsupported file extension (use .yml, .yaml, .toml or .json)');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw ConfigErrors.read(file, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
  return parseConfigText(text, format, file);
}

/** `entryPoints.web.forwardedHeaders.trustedIPs[0]` from a zod path. */
export function formatPath(path: ReadonlyArray<PropertyKey>, prefix = ''): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The message a schema gives a value Meshgate refuses though Traefik takes it; formatZodError puts the path after it. */
export const NOT_SUPPORTED = 'not supported by meshgate';

/** One line per issue; unknown keys are reported at their own path ("http.routers.a.rulee: unknown key"). */
export function formatZodError(error: ZodError, prefix = '', notSupported?: (path: readonly PropertyKey[]) => boolean): string {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of (issue as { keys: string[] }).keys) {
        const path = formatPath([...issue.path, key], prefix);
        // A key the peer (Traefik) has but Meshgate does not implement yet is a gap, not a typo.
        lines.push(notSupported?.([...issue.path, key]) ? `not supported by meshgate: ${path}` : `${path}: unknown key`);
      }
    } else {
      const where = formatPath(issue.path, prefix);
      // A value Traefik accepts but Meshgate does not implement reads like a refused key: the gap names its path.
      const gap = issue.message.startsWith(NOT_SUPPORTED) ? issue.message.slice(NOT_SUPPORTED.length) : undefined;
      lines.push(gap !== undefined ? `${NOT_SUPPORTED}: ${where}${gap}` : `${where === '' ? '(root)' : where}: ${issue.message}`);
    }
  }
  return lines.join('; ');
}
