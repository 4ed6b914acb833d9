/**
 * `meshgate acl policy create|read|update|delete|list` — Consul's `consul acl policy …` (command/acl/policy):
 * `-rules` as text, `@file` or `-` (stdin), `-valid-datacenter` (repeatable); read, update and delete address the
 * policy by `-id` or `-name`.
 */
import { Command } from 'commander';
import type { ConsulClient } from '../../../api/client.ts';
import type { ACLPolicy } from '../../../api/types.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { collect } from '../../repeatable.ts';
import { checkFormat, failure, printPolicy, rulesFrom, type FormatFlag } from './shared.ts';

interface PolicyFlags extends HttpFlags, FormatFlag {
  id?: string;
  name?: string;
  description?: string;
  rules?: string;
  validDatacenter: string[];
}

async function find(client: ConsulClient, flags: PolicyFlags): Promise<ACLPolicy> {
  if (!flags.id && !flags.name) throw CliErrors.usage('Must specify either the -id or -name parameters');
  const found = flags.id ? (await client.acl.policyRead(flags.id)).value : (await client.acl.policyReadByName(flags.name!)).value;
  if (!found) throw CliErrors.failed(`Failed to read policy ${JSON.stringify(flags.id ?? flags.name)}: no such policy`);
  return found;
}

export function aclPolicyCommand(io: CliIO): Command {
  const policy = new Command('policy').description('Manage ACL policies');
  const format = (cmd: Command): Command => cmd.option('--format <format>', 'output format: pretty or json', 'pretty');

  policy.addCommand(format(addHttpFlags(new Command('create')))
    .description('Create an ACL policy')
    .option('--name <name>', 'the new policy\'s name')
    .option('--description <text>', 'a description of the policy')
    .option('--rules <rules>', 'the rules, @file or - for stdin')
    .option('--valid-datacenter <dc>', 'a datacenter the policy is valid in (repeatable)', collect, [])
    .action(async (flags: PolicyFlags) => {
      const fmt = checkFormat(flags);
      if (!flags.name) throw CliErrors.usage('Missing required \'-name\' flag');
      const rules = (await rulesFrom(flags.rules, io)) ?? '';
      let created;
      try {
        created = await clientFrom(flags, io).acl.policyCreate({
          Name: flags.name, Description: flags.description ?? '', Rules: rules,
          ...(flags.validDatacenter.length > 0 ? { Datacenters: flags.validDatacenter } : {}),
        });
      } catch (err) {
        throw failure('create new policy', err);
      }
      printPolicy(io, created, fmt);
    }));

  policy.addCommand(format(addHttpFlags(new Command('read')))
    .description('Read an ACL policy')
    .option('--id <id>', 'the policy\'s ID')
    .option('--name <name>', 'the policy\'s name')
    .action(async (flags: PolicyFlags) => {
      const fmt = checkFormat(flags);
      let found;
      try {
        found = await find(clientFrom(flags, io), flags);
      } catch (err) {
        if (err instanceof Error && 'code' in err && String(err.code).startsWith('MG_CLI_')) throw err;
        throw failure(`read policy ${JSON.stringify(flags.id ?? flags.name)}`, err);
      }
      printPolicy(io, found, fmt);
    }));

  policy.addCommand(format(addHttpFlags(new Command('update')))
    .description('Update an ACL policy')
    .option('--id <id>', 'the policy\'s ID (or -name to find it by name)')
    .option('--name <name>', 'the policy\'s name; with -id, its new name')
    .option('--description <text>', 'a new description')
    .option('--rules <rules>', 'new rules, @file or - for stdin')
    .option('--valid-datacenter <dc>', 'a datacenter the policy is valid in (repeatable)', collect, [])
    .action(async (flags: PolicyFlags) => {
      const fmt = checkFormat(flags);
      const client = clientFrom(flags, io);
      const rules = await rulesFrom(flags.rules, io);
      let updated;
      try {
        const current = await find(client, { ...flags, ...(flags.id ? { name: undefined } : {}) } as PolicyFlags);
        updated = await client.acl.policyUpdate({
          ID: current.ID,
          Name: flags.id && flags.name ? flags.name : current.Name,
          Description: flags.description ?? current.Description,
          Rules: rules ?? current.Rules,
          ...(flags.validDatacenter.length > 0 ? { Datacenters: flags.validDatacenter } : current.Datacenters ? { Datacenters: current.Datacenters } : {}),
        });
      } catch (err) {
        if (err instanceof Error && 'code' in err && String(err.code).startsWith('MG_CLI_')) throw err;
        throw failure(`update policy ${JSON.stringify(flags.id ?? flags.name)}`, err);
      }
      printPolicy(io, updated, fmt);
    }));

  policy.addCommand(addHttpFlags(new Command('delete'))
    .description('Delete an ACL policy')
    .option('--id <id>', 'the policy\'s ID')
    .option('--name <name>', 'the policy\'s name')
    .action(async (flags: PolicyFlags) => {
      const client = clientFrom(flags, io);
      let id = flags.id;
      try {
        id ??= (await find(client, flags)).ID;
        await client.acl.policyDelete(id);
      } catch (err) {
        if (err instanceof Error && 'code' in err && String(err.code).startsWith('MG_CLI_')) throw err;
        throw failure(`delete policy ${JSON.stringify(flags.id ?? flags.name)}`, err);
      }
      info(io, `Policy "${id}" deleted successfully`);
    }));

  policy.addCommand(format(addHttpFlags(new Command('list')))
    .description('List ACL policies')
    .action(async (flags: PolicyFlags) => {
      const fmt = checkFormat(flags);
      let policies;
      try {
        policies = (await clientFrom(flags, io).acl.policyList({ stale: flags.stale === true })).value;
      } catch (err) {
        throw failure('retrieve the policy list', err);
      }
      if (fmt === 'json') return info(io, JSON.stringify(policies, null, 4));
      // Consul's list layout: the name, then the fields indented.
      for (const p of policies) {
        info(io, `${p.Name}:`);
        info(io, `   ID:           ${p.ID}`);
        info(io, `   Description:  ${p.Description}`);
        info(io, `   Datacenters:  ${(p.Datacenters ?? []).join(', ')}`);
      }
    }));

  return policy;
}
