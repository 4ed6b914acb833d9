/**
 * Reading the agent's configuration sources: which files (`src/lib/agent-config`'s listSources — every
 * `-config-file`, then each `-config-dir`'s `.json`/`.hcl` files in lexical order) and each one parsed to a plain
 * object (HCL through `src/lib/hcl.ts`, HCL1's block-in-list spelling included). The keys are read by
 * agent-config.ts: the shared loader's schema does not know the client agent's keys (`template`, `node_meta`,
 * `advertise_addr`, `ports.sidecar_*`, `enable_script_checks`) yet, so its validation is not applied here.
 */
import { readFile } from 'node:fs/promises';
import { listSources } from '../lib/agent-config/index.ts';
import { parseConsulHcl } from '../lib/hcl.ts';
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

export async function readConfigSources(where: ConfigLocations): Promise<ConfigSource[]> {
  const listed = listSources([...where.files, ...where.dirs]);
  if (listed.problems.length > 0) throw AgentErrors.configFile(listed.problems.join('; '), 'cannot read the configuration');
  const sources: ConfigSource[] = [];
  for (const { path, format } of listed.sources) sources.push({ file: path, doc: await parseConfigFile(path, format) });
  return sources;
}

async function parseConfigFile(file: string, format: 'json' | 'hcl'): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw AgentErrors.configFile(file, `cannot read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = format === 'hcl' ? await parseConsulHcl(file, text) : text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    throw AgentErrors.configFile(file, (err as Error).message);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw AgentErrors.configFile(file, 'expected an object at the top level');
  return doc as Record<string, unknown>;
}
