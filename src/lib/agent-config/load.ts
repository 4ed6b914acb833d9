/**
 * Loading the agent configuration from `-config-file` / `-config-dir` arguments: list the files (sources.ts), read
 * and check each one (parse.ts), merge them in order (merge.ts). Every problem of every file is collected, so one
 * run reports them all, as Consul's builder does; any problem fails the load.
 */
import { AgentConfigError } from './errors.ts';
import { mergeConfigs } from './merge.ts';
import { readConfigFile, type ReadOptions } from './parse.ts';
import type { AgentConfig } from './schema.ts';
import { listSources } from './sources.ts';

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
  const listed = listSources(paths);
  const problems = [...listed.problems];
  const configs: AgentConfig[] = [];
  for (const source of listed.sources) {
    const parsed = await readConfigFile(source, options);
    problems.push(...parsed.problems);
    if (parsed.config) configs.push(parsed.config);
  }
  if (problems.length > 0) throw new AgentConfigError(problems);
  return { config: mergeConfigs(configs), files: listed.sources.map((s) => s.path), warnings: listed.warnings };
}
