/**
 * `meshgate acl token create|read|update|delete|list|clone` — Consul's `consul acl token …` (command/acl/token):
 * links by `-policy-id`/`-policy-name` and `-role-id`/`-role-name` (repeatable), `-service-identity name[:dcs]`,
 * `-node-identity name:dc`, `-expires-ttl`, `-local`, `-accessor`/`-secret` on create, `-self` on read. An update
 * keeps what no flag names and replaces what one does.
 */
import { Command } from 'commander';
import type { ACLTokenWrite } from '../../../api/types.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { collect } from '../../repeatable.ts';
import {
  checkFormat, failure, linksFrom, nodeIdentitiesFrom, printToken, serviceIdentitiesFrom, type FormatFlag,
} from './shared.ts';

interface TokenFlags extends HttpFlags, FormatFlag {
  id?: string;
  self?: boolean;
  description?: string;
  policyId: string[];
  policyName: string[];
  roleId: string[];
  roleName: string[];
  serviceIdentity: string[];
  nodeIdentity: string[];
  expiresTtl?: string;
  local?: boolean;
  accessor?: string;
  secret?: string;
}

function withLinkFlags(cmd: Command): Command {
  return cmd
    .option('--description <text>', 'a description of the token')
    .option('--policy-id <id>', 'a policy to link, by ID (repeatable)', collect, [])
    .option('--policy-name <name>', 'a policy to link, by name (repeatable)', collect, [])
    .option('--role-id <id>', 'a role to link, by ID (repeatable)', collect, [])
    .option('--role-name <name>', 'a role to link, by name (repeatable)', collect, [])
    .option('--service-identity <name[:dc1,dc2]>', 'a service identity (repeatable)', collect, [])
    .option('--node-identity <name:dc>', 'a node identity (repeatable)', collect, [])
    .option('--format <format>', 'output format: pretty or json', 'pretty');
}

function body(flags: TokenFlags): ACLTokenWrite {
  const policies = linksFrom(flags.policyId, flags.policyName);
  const roles = linksFrom(flags.roleId, flags.roleName);
  const services = serviceIdentitiesFrom(flags.serviceIdentity);
  const nodes = nodeIdentitiesFrom(flags.nodeIdentity);
  return {
    ...(flags.description !== undefined ? { Description: flags.description } : {}),
    ...(policies ? { Policies: policies } : {}),
    ...(roles ? { Roles: roles } : {}),
    ...(services ? { ServiceIdentities: services } : {}),
    ...(nodes ? { NodeIdentities: nodes } : {}),
  };
}

function requireId(flags: { id?: string }): string {
  if (!flags.id) throw CliErrors.usage('Must specify the -id parameter');
  return flags.id;
}

export function aclTokenCommand(io: CliIO): Command {
  const token = new Command('token').description('Manage ACL tokens');

  token.addCommand(withLinkFlags(addHttpFlags(new Command('create')))
    .description('Create an ACL token')
    .option('--expires-ttl <duration>', 'how long the token lives (e.g. 1h)')
    .option('--local', 'a token local to this datacenter')
    .option('--accessor <uuid>', 'the AccessorID to use (default: generated)')
    .option('--secret <uuid>', 'the SecretID to use (default: generated)')
    .action(async (flags: TokenFlags) => {
      const format = checkFormat(flags);
      const request: ACLTokenWrite = {
        ...body(flags),
        ...(flags.expiresTtl ? { ExpirationTTL: flags.expiresTtl } : {}),
        ...(flags.local ? { Local: true } : {}),
        ...(flags.accessor ? { AccessorID: flags.accessor } : {}),
        ...(flags.secret ? { SecretID: flags.secret } : {}),
      };
      let created;
      try {
        created = await clientFrom(flags, io).acl.tokenCreate(request);
      } catch (err) {
        throw failure('create new token', err);
      }
      printToken(io, created, format);
    }));

  token.addCommand(addHttpFlags(new Command('read'))
    .description('Read an ACL token')
    .option('--id <accessor>', 'the AccessorID of the token')
    .option('--self', 'read the token the request is made with')
    .option('--format <format>', 'output format: pretty or json', 'pretty')
    .action(async (flags: TokenFlags) => {
      const format = checkFormat(flags);
      const client = clientFrom(flags, io);
      let read;
      try {
        if (flags.self) read = (await client.acl.tokenReadSelf({ stale: flags.stale === true })).value;
        else read = (await client.acl.tokenRead(requireId(flags), { stale: flags.stale === true })).value;
      } catch (err) {
        throw failure(`read token${flags.id ? ` ${JSON.stringify(flags.id)}` : ''}`, err);
      }
      if (!read) throw CliErrors.failed(`Failed to read token ${JSON.stringify(flags.id)}: no such token`);
      printToken(io, read, format);
    }));

  token.addCommand(withLinkFlags(addHttpFlags(new Command('update')))
    .description('Update an ACL token')
    .option('--id <accessor>', 'the AccessorID of the token')
    .action(async (flags: TokenFlags) => {
      const format = checkFormat(flags);
      const id = requireId(flags);
      const client = clientFrom(flags, io);
      let updated;
      try {
        const current = (await client.acl.tokenRead(id)).value;
        if (!current) throw CliErrors.failed(`Failed to update token ${JSON.stringify(id)}: no such token`);
        const { CreateIndex: _c, ModifyIndex: _m, Hash: _h, CreateTime: _t, ExpirationTime: _e, SecretID: _s, ...kept } = current;
        updated = await client.acl.tokenUpdate({ ...kept, ...body(flags), AccessorID: id });
      } catch (err) {
        if (err instanceof Error && 'code' in err && err.code === 'MG_CLI_FAILED') throw err;
        throw failure(`update token ${JSON.stringify(id)}`, err);
      }
      printToken(io, updated, format);
    }));

  token.addCommand(addHttpFlags(new Command('clone'))
    .description('Clone an ACL token')
    .option('--id <accessor>', 'the AccessorID of the token to clone')
    .option('--description <text>', 'a description of the new token')
    .option('--format <format>', 'output format: pretty or json', 'pretty')
    .action(async (flags: TokenFlags) => {
      const format = checkFormat(flags);
      const id = requireId(flags);
      let cloned;
      try {
        cloned = await clientFrom(flags, io).acl.tokenClone(id, flags.description ?? '');
      } catch (err) {
        throw failure(`clone token ${JSON.stringify(id)}`, err);
      }
      printToken(io, cloned, format);
    }));

  token.addCommand(addHttpFlags(new Command('delete'))
    .description('Delete an ACL token')
    .option('--id <accessor>', 'the AccessorID of the token')
    .action(async (flags: TokenFlags) => {
      const id = requireId(flags);
      try {
        await clientFrom(flags, io).acl.tokenDelete(id);
      } catch (err) {
        throw failure(`delete token ${JSON.stringify(id)}`, err);
      }
      info(io, `Token "${id}" deleted successfully`);
    }));

  token.addCommand(addHttpFlags(new Command('list'))
    .description('List ACL tokens')
    .option('--format <format>', 'output format: pretty or json', 'pretty')
    .action(async (flags: TokenFlags) => {
      const format = checkFormat(flags);
      let tokens;
      try {
        tokens = (await clientFrom(flags, io).acl.tokenList({}, { stale: flags.stale === true })).value;
      } catch (err) {
        throw failure('retrieve the token list', err);
      }
      if (format === 'json') return info(io, JSON.stringify(tokens, null, 4));
      tokens.forEach((t, i) => {
        if (i > 0) info(io, '');
        printToken(io, t, format);
      });
    }));

  return token;
}
