/**
 * Loading the agent configuration from `-config-file` / `-config-dir` arguments: list and read the files (read.ts),
 * check each one (parse.ts), merge them in order (merge.ts). Every problem of every file is collected, so one
 * run reports them all, as Consul's builder does; any problem fails the load.
 */
import { AgentConfigError } from './errors.ts';
import { mergeConfigs } from './merge.ts';
import { checkConfigDocument, type ReadOptions } from './parse.ts';
import { readConfigDocuments, type ReadDocuments } from './read.ts';
import type { AgentConfig } from './schema.ts';

export interface LoadedAgentConfig {
  /** The merged configuration (an empty object when no file was given). */
  readonly config: AgentConfig;
  /** The files read, in merge order. */
  readonly files: readonly string[];
  /** Things skipped on the way (files in a config dir without a .json/.hcl extension), for the log. */
  readonly warnings: readonly string[];
}

/** `paths`: the -config-file and -config-dir arguments in the order given (Consul reads both kinds in one list). */
export async function loadAgentConfig(paths: readonly string[], options: ReadOptions = {}): Promise<LoadedAgentConfig> {
  return checkAgentConfig(await readConfigDocuments(paths), options);
}

/** The same, from documents already read (`meshgate validate` hands the client agent's reader the same ones). */
export function checkAgentConfig(read: ReadDocuments, options: ReadOptions = {}): LoadedAgentConfig {
  const problems = [...read.problems];
  const configs: AgentConfig[] = [];
  for (const document of read.documents) {
    const parsed = checkConfigDocument(document, options);
    problems.push(...parsed.problems);
    if (parsed.config) configs.push(parsed.config);
  }
  if (problems.length > 0) throw new AgentConfigError(problems);
  return { config: mergeConfigs(configs), files: read.documents.map((d) => d.path), warnings: read.warnings };
}
