/**
 * Reading the agent's configuration sources as Consul does: every `-config-file`, then every `.json` and `.hcl` file
 * of every `-config-dir` in lexical order (other files are skipped, as Consul skips them), each parsed to a plain
 * object. HCL goes through hcl2json (blocks come back as lists; definition-shape.ts undoes that). This is the
 * small loader the agent needs today; `src/lib/agent-config` replaces it once that lands.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { AgentErrors } from './errors.ts';

export interface ConfigSource {
  /** The file it came from (for messages). */
  file: string;
  doc: Record<string, unknown>;
}

export interface ConfigLocations {
  files: readonly string[];
  dirs: readonly string[];
}

/** The files the locations name, in the order Consul merges them. */
export async function configFiles(where: ConfigLocations): Promise<string[]> {
  const out = [...where.files];
  for (const dir of where.dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      throw AgentErrors.configFile(dir, `cannot read config dir: ${(err as Error).message}`);
    }
    for (const name of names.sort()) {
      if (extname(name) !== '.json' && extname(name) !== '.hcl') continue;
      const path = join(dir, name);
      // A directory named x.json is not a config file; Consul skips it too.
      if ((await stat(path).catch(() => undefined))?.isFile()) out.push(path);
    }
  }
  return out;
}

export async function readConfigSources(where: ConfigLocations): Promise<ConfigSource[]> {
  const sources: ConfigSource[] = [];
  for (const file of await configFiles(where)) sources.push({ file, doc: await parseConfigFile(file) });
  return sources;
}

export async function parseConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw AgentErrors.configFile(file, `cannot read: ${(err as Error).message}`);
  }
  let doc: unknown;
  if (extname(file) === '.hcl') {
    doc = await parseHclConfig(file, text);
  } else {
    try {
      doc = text.trim() === '' ? {} : JSON.parse(text);
    } catch (err) {
      throw AgentErrors.configFile(file, (err as Error).message);
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw AgentErrors.configFile(file, 'expected an object at the top level');
  return doc as Record<string, unknown>;
}

/** A computed specifier: TypeScript must not read hcl2json's declarations, which pull the DOM lib into every file. */
const HCL2JSON = '@cdktf/hcl2json';

/**
 * Consul reads HCL1, which allows a block inside a list element (`checks = [{ header { … } }]`) where HCL2 wants
 * `header = { … }`: when HCL2 refuses the file, it is read again with `name {` lines written `name = {`, which
 * means the same after decoding.
 */
async function parseHclConfig(file: string, text: string): Promise<unknown> {
  const { parse } = (await import(HCL2JSON)) as { parse: (name: string, text: string) => Promise<unknown> };
  try {
    return await parse(file, text);
  } catch (err) {
    const hcl1 = text.replace(/^(\s*)([A-Za-z_][\w-]*)\s*\{\s*$/gm, '$1$2 = {');
    if (hcl1 !== text) {
      const again = await parse(file, hcl1).catch(() => undefined);
      if (again !== undefined) return again;
    }
    throw AgentErrors.configFile(file, (err as Error).message);
  }
}
