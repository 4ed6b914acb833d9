/**
 * Reading each configuration source once: its text, then JSON or HCL (through `src/lib/hcl.ts`) to a plain object.
 * The server's schema check (parse.ts) and the client agent's reader (`src/agent/agent-config.ts`) both start from
 * these documents, so `meshgate validate` — which runs both on one set of files — reads and parses each file once,
 * and all three commands agree on what a file says.
 */
import { readFile } from 'node:fs/promises';
import { parseConsulHcl } from '../hcl.ts';
import { listSources, type ConfigSource } from './sources.ts';

export interface ConfigDocument extends ConfigSource {
  /** The file's top-level object as parsed: HCL blocks still written as lists, nothing folded or checked. */
  readonly doc: Record<string, unknown>;
}

export interface ReadDocuments {
  readonly documents: ConfigDocument[];
  /** Files in a config dir skipped for their extension (Consul logs these and goes on). */
  readonly warnings: string[];
  /** Every source that could not be listed, read or parsed; any problem fails the load. */
  readonly problems: string[];
}

/** `paths`: the -config-file and -config-dir arguments in the order given. */
export async function readConfigDocuments(paths: readonly string[]): Promise<ReadDocuments> {
  const listed = listSources(paths);
  const out: ReadDocuments = { documents: [], warnings: [...listed.warnings], problems: [...listed.problems] };
  for (const source of listed.sources) {
    const read = await readDocument(source);
    if (typeof read === 'string') out.problems.push(read);
    else out.documents.push(read);
  }
  return out;
}

async function readDocument(source: ConfigSource): Promise<ConfigDocument | string> {
  let text: string;
  try {
    text = await readFile(source.path, 'utf8');
  } catch (err) {
    return `cannot read ${source.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  return parseDocument(text, source);
}

/** One file's text to its document, or the problem that names the file. */
export async function parseDocument(text: string, source: ConfigSource): Promise<ConfigDocument | string> {
  let raw: unknown;
  try {
    raw = source.format === 'json' ? JSON.parse(text) : await parseConsulHcl(source.path, text);
  } catch (err) {
    return `failed to parse ${source.path}: ${(err as Error).message}`;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return `${source.path}: expected an object at the top level`;
  return { ...source, doc: raw as Record<string, unknown> };
}
