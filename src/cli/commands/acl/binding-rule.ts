/**
 * `meshgate acl binding-rule create|read|update|delete|list` — Consul's `consul acl binding-rule …`
 * (command/acl/bindingrule): `-method`, `-bind-type` (service, node, role, policy), `-bind-name` (with
 * `${value.x}` templates), `-selector` (bexpr over value.* and list.*), `-description`; addressed by `-id`. An
 * update keeps what no flag names unless `-no-merge`.
 */
import { Command } from 'commander';
import { AclAuthEndpoint, type ACLBindingRule } from '../../../api/acl-auth.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { checkFormat, failure, type FormatFlag } from './shared.ts';

interface RuleFlags extends HttpFlags, FormatFlag {
  id?: string;
  method?: string;
  description?: string;
  selector?: string;
  bindType?: string;
  bindName?: string;
}

const cliError = (err: unknown): boolean => err instanceof Error && 'code' in err && String(err.code).startsWith('MG_CLI_');

function endpoint(flags: RuleFlags, io: CliIO): AclAuthEndpoint {
  return new AclAuthEndpoint(clientFrom(flags, io).transport);
}

function withRuleFlags(cmd: Command): Command {
  return cmd
    .option('--description <text>', 'a description of the binding rule')
    .option('--selector <expr>', 'which identities the rule applies to (bexpr over value.* and list.*)')
    .option('--bind-type <type>', 'service, node, role or policy')
    .option('--bind-name <name>', 'the name to bind; may use ${value.x} from the auth method\'s claim mappings')
    .option('--format <format>', 'output format: pretty or json', 'pretty');
}

export function printBindingRule(io: CliIO, r: ACLBindingRule, format: 'pretty' | 'json'): void {
  if (format === 'json') return info(io, JSON.stringify(r, null, 4));
  const rows: Array<[string, string]> = [
    ['ID', r.ID ?? ''], ['AuthMethod', r.AuthMethod], ['Description', r.Description ?? ''], ['BindType', r.BindType], ['BindName', r.BindName],
    ['Selector', r.Selector ?? ''],
  ];
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  info(io, rows.map(([l, v]) => `${`${l}:`.padEnd(width)}${v}`.trimEnd()).join('\n'));
}

export function aclBindingRuleCommand(io: CliIO): Command {
  const cmd = new Command('binding-rule').description('Manage Consul\'s ACL binding rules');

  cmd.addCommand(withRuleFlags(addHttpFlags(new Command('create')))
    .description('Create an ACL binding rule')
    .option('--method <name>', 'the auth method the rule belongs to')
    .action(async (flags: RuleFlags) => {
      const fmt = checkFormat(flags);
      if (!flags.method) throw CliErrors.usage('Missing required \'-method\' flag');
      if (!flags.bindType) throw CliErrors.usage('Missing required \'-bind-type\' flag');
      if (!flags.bindName) throw CliErrors.usage('Missing required \'-bind-name\' flag');
      let created;
      try {
        created = await endpoint(flags, io).bindingRuleCreate({
          AuthMethod: flags.method, BindType: flags.bindType, BindName: flags.bindName, Description: flags.description ?? '', Selector: flags.selector ?? '',
        });
      } catch (err) {
        throw failure('create new binding rule', err);
      }
      printBindingRule(io, created, fmt);
    }));

  cmd.addCommand(addHttpFlags(new Command('read'))
    .description('Read an ACL binding rule')
    .option('--id <id>', 'the binding rule\'s ID')
    .option('--format <format>', 'output format: pretty or json', 'pretty')
    .action(async (flags: RuleFlags) => {
      const fmt = checkFormat(flags);
      if (!flags.id) throw CliErrors.usage('Must specify the -id parameter');
      let found;
      try {
        found = (await endpoint(flags, io).bindingRuleRead(flags.id)).value;
      } catch (err) {
        throw failure(`read binding rule ${JSON.stringify(flags.id)}`, err);
      }
      if (!found) throw CliErrors.failed(`Binding rule not found with ID ${JSON.stringify(flags.id)}`);
      printBindingRule(io, found, fmt);
    }));

  cmd.addCommand(withRuleFlags(addHttpFlags(new Command('update')))
    .description('Update an ACL binding rule')
    .option('--id <id>', 'the binding rule\'s ID')
    .option('--no-merge', 'replace the rule with what the flags say instead of merging into the current one')
    .action(async (flags: RuleFlags & { merge?: boolean }) => {
      const fmt = checkFormat(flags);
      if (!flags.id) throw CliErrors.usage('Cannot update a binding rule without specifying the -id parameter');
      const api = endpoint(flags, io);
      let updated;
      try {
        const current = (await api.bindingRuleRead(flags.id)).value;
        if (!current) throw CliErrors.failed(`Binding rule not found with ID ${JSON.stringify(flags.id)}`);
        const base: ACLBindingRule = flags.merge === false ? { AuthMethod: current.AuthMethod, BindType: '', BindName: '' } : current;
        updated = await api.bindingRuleUpdate({
          ...base,
          ID: flags.id,
          ...(flags.description !== undefined ? { Description: flags.description } : {}),
          ...(flags.selector !== undefined ? { Selector: flags.selector } : {}),
          ...(flags.bindType !== undefined ? { BindType: flags.bindType } : {}),
          ...(flags.bindName !== undefined ? { BindName: flags.bindName } : {}),
        });
      } catch (err) {
        if (cliError(err)) throw err;
        throw failure(`update binding rule ${JSON.stringify(flags.id)}`, err);
      }
      printBindingRule(io, updated, fmt);
    }));

  cmd.addCommand(addHttpFlags(new Command('delete'))
    .description('Delete an ACL binding rule')
    .option('--id <id>', 'the binding rule\'s ID')
    .action(async (flags: RuleFlags) => {
      if (!flags.id) throw CliErrors.usage('Must specify the -id parameter');
      try {
        await endpoint(flags, io).bindingRuleDelete(flags.id);
      } catch (err) {
        throw failure(`delete binding rule ${JSON.stringify(flags.id)}`, err);
      }
      info(io, `Binding rule ${JSON.stringify(flags.id)} deleted successfully`);
    }));

  cmd.addCommand(addHttpFlags(new Command('list'))
    .description('List ACL binding rules')
    .option('--method <name>', 'only the rules of this auth method')
    .option('--format <format>', 'output format: pretty or json', 'pretty')
    .action(async (flags: RuleFlags) => {
      const fmt = checkFormat(flags);
      let list;
      try {
        list = (await endpoint(flags, io).bindingRuleList(flags.method)).value;
      } catch (err) {
        throw failure('retrieve the binding rule list', err);
      }
      if (fmt === 'json') return info(io, JSON.stringify(list, null, 4));
      for (const r of list) {
        info(io, `${r.ID ?? ''}:`);
        printBindingRule(io, r, 'pretty');
      }
    }));
  return cmd;
}
