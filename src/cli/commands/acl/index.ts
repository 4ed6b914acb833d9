/** `meshgate acl …` — Consul's `consul acl` command family: bootstrap, token, policy, role. */
import { Command } from 'commander';
import type { CliIO } from '../../io.ts';
import { aclAuthMethodCommand } from './auth-method.ts';
import { aclBindingRuleCommand } from './binding-rule.ts';
import { aclBootstrapCommand } from './bootstrap.ts';
import { aclPolicyCommand } from './policy.ts';
import { aclRoleCommand } from './role.ts';
import { aclTokenCommand } from './token.ts';

export function aclCommand(io: CliIO): Command {
  return new Command('acl')
    .description('Interact with Consul\'s ACLs')
    .addCommand(aclBootstrapCommand(io))
    .addCommand(aclTokenCommand(io))
    .addCommand(aclPolicyCommand(io))
    .addCommand(aclRoleCommand(io))
    .addCommand(aclAuthMethodCommand(io))
    .addCommand(aclBindingRuleCommand(io));
}
