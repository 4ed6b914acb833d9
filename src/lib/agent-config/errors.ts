/** The one error a configuration load ends in: every problem of every file, each naming its key and file. */
import { MeshgateError } from '../errors.ts';

export const AGENT_CONFIG_INVALID = 'MG_AGENT_CONFIG_INVALID';

export class AgentConfigError extends MeshgateError {
  /** One line per problem, e.g. `unknown key: acl.tokenz (/etc/meshgate.d/acl.hcl)`. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(AGENT_CONFIG_INVALID, 400, problems.length === 1 ? problems[0]! : `${problems.length} problems:\n${problems.map((p) => `  * ${p}`).join('\n')}`);
    this.name = 'AgentConfigError';
    this.problems = problems;
  }
}
