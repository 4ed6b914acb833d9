/**
 * `meshgate acl role create|read|update|delete|list` — Consul's `consul acl role …` (command/acl/role): links by
 * `-policy-id`/`-policy-name`, `-service-identity`, `-node-identity`; addressed by `-id` or `-name`. An update keeps
 * what no flag names.
 */
import { Command } from 'commander';
import type { ConsulClient } from '../../../api/client.ts';
import type { ACLRole } from '../../../api/types.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { collect } from '../../repeatable.ts';
import { checkFormat, failure, linksFrom, nodeIdentitiesFrom, printRole, serviceIdentitiesFrom, type FormatFlag } from './shared.ts';

interface RoleFlags extends HttpFlags, FormatFlag {
  id?: string;
  name?: string;
  description?: string;
  policyId: string[];
  policyName: string[];
  serviceIdentity: string[];
  nodeIdentity: string[];
}

async function find(client: ConsulClient, flags: Pick<RoleFlags, 'id' | 'name'>): Promise<ACLRole> {
  if (!flags.id && !flags.name) throw CliErrors.usage('Must specify either the -id or -name parameters');
  const found = flags.id ? (await client.acl.roleRead(flags.id)).value : (await client.acl.roleReadByName(flags.name!)).value;
  if (!found) throw CliErrors.failed(`Failed to read role ${JSON.stringify(flags.id ?? flags.name)}: no such role`);
  return found;
}

const cliError = (err: unknown): boolean => err instanceof Error && 'code' in err && String(err.code).startsWith('MG_CLI_');

function withRoleFlags(cmd: Command): Command {
  return cmd
    .option('--id <id>', 'the role\'s ID')
    .option('--name <name>', 'the role\'s name')
    .option('--description <text>', 'a description of the role')
    .option('--policy-id <id>', 'a policy to link, by ID (repeatable)', collect, [])
    .option('--policy-name <name>', 'a policy to link, by name (repeatable)', collect, [])
    .option('--service-identity <name[:dc1,dc2]>', 'a service identity (repeatable)', collect, [])
    .option('--node-identity <name:dc>', 'a node identity (repeatable)', collect, [])
    .option('--format <format>', 'output format: pretty or json', 'pretty');
}

export function aclRoleCommand(io: CliIO): Command {
  const role = new Command('role').description('Manage ACL roles');

  role.addCommand(withRoleFlags(addHttpFlags(new Command('create')))
    .description('Create an ACL role')
    .action(async (flags: RoleFlags) => {
      const fmt = checkFormat(flags);
      if (!flags.name) throw CliErrors.usage('Missing required \'-name\' flag');
      const policies = linksFrom(flags.policyId, flags.policyName);
      const services = serviceIdentitiesFrom(flags.serviceIdentity);
      const nodes = nodeIdentitiesFrom(flags.nodeIdentity);
      let created;
      try {
        created = await clientFrom(flags, io).acl.roleCreate({
          Name: flags.name, Description: flags.description ?? '',
          ...(policies ? { Policies: policies } : {}), ...(services ? { ServiceIdentities: services } : {}), ...(nodes ? { NodeIdentities: nodes } : {}),
        });
      } catch (err) {
        throw failure('create new role', err);
      }
      printRole(io, created, fmt);
    }));

  role.addCommand(addHttpFlags(new Command('read'))
    .description('Read an ACL role')
    .option('--id <id>', 'the role\'s ID')
    .option('--name <name>', 'the role\'s name')
    .option('--format <format>', 'output format: pretty or json', 'pretty')
    .action(async (flags: RoleFlags) => {
      const fmt = checkFormat(flags);
      let found;
      try {
        found = await find(clientFrom(flags, io), flags);
      } catch (err) {
        if (cliError(err)) throw err;
        throw failure(`read role ${JSON.stringify(flags.id ?? flags.name)}`, err);
      }
      printRole(io, found, fmt);
    }));

  role.addCommand(withRoleFlags(addHttpFlags(new Command('update')))
    .description('Update an ACL role')
    .action(async (flags: RoleFlags) => {
      const fmt = checkFormat(flags);
      if (!flags.id) throw CliErrors.usage('Must specify the -id parameter');
      const client = clientFrom(flags, io);
      let updated;
      try {
        const current = await find(client, { id: flags.id });
        updated = await client.acl.roleUpdate({
          ID: current.ID,
          Name: flags.name ?? current.Name,
          Description: flags.description ?? current.Description,
          Policies: linksFrom(flags.policyId, flags.policyName) ?? current.Policies ?? [],
          ServiceIdentities: serviceIdentitiesFrom(flags.serviceIdentity) ?? current.ServiceIdentities ?? [],
          NodeIdentities: nodeIdentitiesFrom(flags.nodeIdentity) ?? current.NodeIdentities ?? [],
        });
      } catch (err) {
        if (cliError(err)) throw err;
        throw failure(`update role ${JSON.stringify(flags.id)}`, err);
      }
      printRole(io, updated, fmt);
    }));

  role.addCommand(addHttpFlags(new Command('delete'))
    .description('Delete an ACL role')
    .option('--id <id>', 'the role\'s ID')
    .option('--name <name>', 'the role\'s name')
    .action(async (flags: RoleFlags) => {
      const client = clientFrom(flags, io);
      let id = flags.id;
      try {
        id ??= (await find(client, flags)).ID;
        await client.acl.roleDelete(id);
      } catch (err) {
        if (cliError(err)) throw err;
        throw failure(`delete role ${JSON.stringify(flags.id ?? flags.name)}`, err);
      }
      info(io, `Role "${id}" deleted successfully`);
    }));

  role.addCommand(addHttpFlags(new Command('list'))
    .description('List ACL roles')
    .option('--format <format>', 'output format: pretty or json', 'pretty')
    .action(async (flags: RoleFlags) => {
      const fmt = checkFormat(flags);
      let roles;
      try {
        roles = (await clientFrom(flags, io).acl.roleList({ stale: flags.stale === true })).value;
      } catch (err) {
        throw failure('retrieve the role list', err);
      }
      if (fmt === 'json') return info(io, JSON.stringify(roles, null, 4));
      roles.forEach((r, i) => {
        if (i > 0) info(io, '');
        printRole(io, r, fmt);
      });
    }));

  return role;
}
