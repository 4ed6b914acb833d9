/**
 * One configuration file, read as Consul reads it (agent/config/config.go Parse, builder.go): JSON or HCL, blocks
 * written as lists by HCL (`acl { … }` → `[{ … }]`) taken as the single object they are (Consul's
 * HookWeakDecodeFromSlice), a single `service`/`check` added to `services`/`checks` (builder.go does so per file,
 * before merging), then checked against the schema. Problems name the key path and the file.
 */
import type { z } from 'zod';
import type { ConfigDocument } from './read.ts';
import { AgentConfigFileSchema, type AgentConfig } from './schema.ts';
import { isConsulOnlyKey } from './unsupported.ts';

/** Lists of blocks that stay lists: a definition per element (everything else written as a block is one object). */
const BLOCK_LISTS: ReadonlySet<string> = new Set(['services', 'checks', 'upstreams', 'paths', 'watches']);
/** Top-level keys that may repeat as blocks; each block is one more definition. */
const REPEATABLE_TOP: ReadonlySet<string> = new Set(['service', 'check']);

export interface ParsedFile {
  readonly config?: AgentConfig;
  readonly problems: string[];
}

export interface ReadOptions {
  /**
   * Dotted key paths (`template`, `ports.sidecar_min_port`) left out of the schema check: keys another reader owns
   * and checks (the client agent's, for `meshgate validate`).
   */
  readonly omitKeys?: readonly string[];
}

/** A document read by read.ts, shaped as Consul's builder shapes one file and checked against the schema. */
export function checkConfigDocument(source: ConfigDocument, options: ReadOptions = {}): ParsedFile {
  const problems: string[] = [];
  // unwrapBlocks copies every object it meets, so the document stays as read for the client agent's reader.
  const doc = unwrapBlocks(source.doc, '', source.path, problems) as Record<string, unknown>;
  if (problems.length > 0) return { problems };
  foldSingular(doc, 'service', 'services');
  foldSingular(doc, 'check', 'checks');
  for (const path of options.omitKeys ?? []) omitKey(doc, path);
  const result = AgentConfigFileSchema.safeParse(doc);
  if (!result.success) return { problems: result.error.issues.flatMap((issue) => describeIssue(issue, source.path)) };
  return { config: result.data, problems: [] };
}

function unwrapBlocks(value: unknown, path: string, file: string, problems: string[]): unknown {
  if (Array.isArray(value)) {
    const last = path.slice(path.lastIndexOf('.') + 1);
    const keepList = BLOCK_LISTS.has(last) || (REPEATABLE_TOP.has(path));
    if (keepList || !value.every(isPlainObject)) return value.map((v, i) => unwrapBlocks(v, keepList ? path : `${path}[${i}]`, file, problems));
    if (value.length === 1) return unwrapBlocks(value[0], path, file, problems);
    if (value.length > 1) problems.push(`${path}: expected one block, found ${value.length} (${file})`);
    return value;
  }
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = unwrapBlocks(v, path === '' ? key : `${path}.${key}`, file, problems);
  return out;
}

/** `service { … }` (one, or several blocks) joins `services`, as Consul's builder does for each file. */
function foldSingular(doc: Record<string, unknown>, singular: string, plural: string): void {
  const one = doc[singular];
  if (one === undefined) return;
  const many = Array.isArray(doc[plural]) ? (doc[plural] as unknown[]) : doc[plural] === undefined ? [] : undefined;
  if (!many) return; // a malformed plural is reported by the schema
  doc[plural] = [...many, ...(Array.isArray(one) ? one : [one])];
  delete doc[singular];
}

function describeIssue(issue: z.core.$ZodIssue, file: string): string[] {
  const block = dotted(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const blockPath = block.replace(/\[\d+\]/g, '');
    return issue.keys.map((key) => {
      const full = block === '' ? key : `${block}.${key}`;
      return isConsulOnlyKey(blockPath, key) ? `not supported by meshgate: ${full} (${file})` : `unknown key: ${full} (${file})`;
    });
  }
  return [`${block === '' ? '(top level)' : block}: ${issue.message} (${file})`];
}

function dotted(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  return out;
}

/** Removes `a.b.c` from `doc` when every step on the way is an object; a block left empty goes too. */
function omitKey(doc: Record<string, unknown>, path: string): void {
  const [head, ...rest] = path.split('.');
  if (head === undefined || !Object.hasOwn(doc, head)) return;
  if (rest.length === 0) {
    delete doc[head];
    return;
  }
  const inner = doc[head];
  if (!isPlainObject(inner)) return;
  omitKey(inner, rest.join('.'));
  if (Object.keys(inner).length === 0) delete doc[head];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
