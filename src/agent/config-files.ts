/**
 * Reading the agent's configuration sources: which files (every `-config-file`, then each `-config-dir`'s
 * `.json`/`.hcl` files in lexical order) and each one parsed to a plain object — both by the shared reader
 * (`src/lib/agent-config`'s readConfigDocuments), so the server, this agent and `meshgate validate` read a file the
 * same way (an empty JSON file is an error in all three, as Consul's json.Unmarshal makes it). The keys are read by
 * agent-config.ts: the shared schema is the server's and does not know the client agent's keys (`template`,
 * `node_meta`, `advertise_addr`, `ports.sidecar_*`, `enable_script_checks`), so it is not applied here.
 */
import { readConfigDocuments, type ReadDocuments } from '../lib/agent-config/index.ts';
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
  return configSourcesOf(await readConfigDocuments([...where.files, ...where.dirs]));
}

/** Documents read once by the shared reader, as this agent takes them; a problem with any file fails the whole read. */
export function configSourcesOf(read: ReadDocuments): ConfigSource[] {
  if (read.problems.length > 0) throw AgentErrors.configFile(read.problems.join('; '), 'cannot read the configuration');
  return read.documents.map((document) => ({ file: document.path, doc: document.doc }));
}
