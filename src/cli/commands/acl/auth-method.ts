/**
 * `meshgate acl auth-method create|read|update|delete|list` — Consul's `consul acl auth-method …`
 * (command/acl/authmethod): `-name`, `-type`, `-display-name`, `-description`, `-max-token-ttl`,
 * `-token-locality`, and `-config` as JSON, `@file` or `-` (stdin); an update keeps what no flag names unless
 * `-no-merge`. Output as Consul's formatter prints it, or `-format json`.
 */
import { Command } from 'commander';
import { AclAuthEndpoint, type ACLAuthMethod, type ACLAuthMethodListEntry } from '../../../api/acl-auth.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { checkFormat, failure, rulesFrom, type FormatFlag } from './shared.ts';

interface MethodFlags extends HttpFlags, FormatFlag {
  name?: string;
  type?: string;
  displayName?: string;
  description?: string;
  maxTokenTtl?: string;
  tokenLocality?: string;
  config?: string;
  noMerge?: boolean;
}

const cliError = (err: unknown): boolean => err instanceof Error && 'code' in err && String(err.code).startsWith('MG_CLI_');

function endpoint(flags: MethodFlags, io: CliIO): AclAuthEndpoint {
  return new AclAuthEndpoint(clientFrom(flags, io).transport);
}

async function configFrom(value: string | undefined, io: CliIO): Promise<Record<string, unknown> | undefined> {
  const text = await rulesFrom(value, io);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected a JSON object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw CliErrors.usage(`Error parsing JSON for auth method config: ${(err as Error).message}`);
  }
}

function withMethodFlags(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'the auth method\'s name')
    .option('--display-name <name>', 'a name shown in the UI')
    .option('--description <text>', 'a description of the auth method')
    .option('--max-token-ttl <duration>', 'the longest life of a token this method creates (e.g. 10m)')
    .option('--token-locality <locality>', 'local (default) or global')
    .option('--config <json|@file|->', 'the type\'s configuration as JSON, @file or - for stdin')
    .option('--format <format>', 'output format: pretty or json', 'pretty');
}

export function printAuthMethod(io: CliIO, m: ACLAuthMethod | ACLAuthMethodListEntry, format: 'pretty' | 'json'): void {
  if (format === 'json') return info(io, JSON.stringify(m, null, 4));
  const rows: Array<[string, string]> = [['Name', m.Name], ['Type', m.Type]];
  if (m.DisplayName) rows.push(['DisplayName', m.DisplayName]);
  rows.push(['Description', m.Description ?? '']);
  if (m.MaxTokenTTL) rows.push(['MaxTokenTTL', m.MaxTokenTTL]);
  if (m.TokenLocality) rows.push(['TokenLocality', m.TokenLocality]);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  const lines = rows.map(([l, v]) => `${`${l}:`.padEnd(width)}${v}`.trimEnd());
  if ('Config' in m && m.Config) lines.push('Config:', JSON.stringify(m.Config, null, 4));
  info(io, lines.join('\n'));
}

export function aclAuthMethodCommand(io: CliIO): Command {
  const cmd = new Command('auth-method').description('Manage Consul\'s ACL auth methods');

  cmd.addCommand(withMethodFlags(addHttpFlags(new Command('create')))
    .description('Create an ACL auth method')
    .option('--type <type>', 'the auth method\'s type (jwt)')
    .action(async (flags: MethodFlags) => {
      const fmt = checkFormat(flags);
      if (!flags.type) throw CliErrors.usage('Missing required \'-type\' flag');
      if (!flags.name) throw CliErrors.usage('Missing required \'-name\' flag');
      const config = await configFrom(flags.config, io);
      let created;
      try {
        created = await endpoint(flags, io).authMethodCreate({
          Name: flags.name, Type: flags.type, Description: flags.description ?? '',
          ...(flags.displayName ? { DisplayName: flags.displayName } : {}),
          ...(flags.maxTokenTtl ? { MaxTokenTTL: flags.maxTokenTtl } : {}),
          ...(flags.tokenLocality ? { TokenLocality: flags.tokenLocality } : {}),
          ...(config ? { Config: config } : {}),
        });
      } catch (err) {
        throw failure('create auth method', err);
      }
      printAuthMethod(io, created, fmt);
    }));

  cmd.addCommand(addHttpFlags(new Command('read'))
    .description('Read an ACL auth method')
    .option('--name <name>', 'the auth method\'s name')
    .option('--format <format>', 'output format: pretty or json', 'pretty')
    .action(async (flags: MethodFlags) => {
      const fmt = checkFormat(flags);
      if (!flags.name) throw CliErrors.usage('Must specify the -name parameter');
      let found;
      try {
        found = (await endpoint(flags, io).authMethodRead(flags.name)).value;
      } catch (err) {
        throw failure(`read auth method ${JSON.stringify(flags.name)}`, err);
      }
      if (!found) throw CliErrors.failed(`Auth method not found with name ${JSON.stringify(flags.name)}`);
      printAuthMethod(io, found, fmt);
    }));

  cmd.addCommand(withMethodFlags(addHttpFlags(new Command('update')))
    .description('Update an ACL auth method')
    .option('--no-merge', 'replace the method with what the flags say instead of merging into the current one')
    .action(async (flags: MethodFlags & { merge?: boolean }) => {
      const fmt = checkFormat(flags);
      if (!flags.name) throw CliErrors.usage('Cannot update an auth method without specifying the -name parameter');
      const config = await configFrom(flags.config, io);
      const api = endpoint(flags, io);
      let updated;
      try {
        const current = (await api.authMethodRead(flags.name)).value;
        if (!current) throw CliErrors.failed(`Auth method not found with name ${JSON.stringify(flags.name)}`);
        const base: ACLAuthMethod = flags.merge === false ? { Name: current.Name, Type: current.Type } : current;
        updated = await api.authMethodUpdate({
          ...base,
          ...(flags.displayName !== undefined ? { DisplayName: flags.displayName } : {}),
          ...(flags.description !== undefined ? { Description: flags.description } : {}),
          ...(flags.maxTokenTtl !== undefined ? { MaxTokenTTL: flags.maxTokenTtl } : {}),
          ...(flags.tokenLocality !== undefined ? { TokenLocality: flags.tokenLocality } : {}),
          ...(config ? { Config: config } : {}),
        });
      } catch (err) {
        if (cliError(err)) throw err;
        throw failure(`update auth method ${JSON.stringify(flags.name)}`, err);
      }
      printAuthMethod(io, updated, fmt);
    }));

  cmd.addCommand(addHttpFlags(new Command('delete'))
    .description('Delete an ACL auth method, with its binding rules and the tokens it created')
    .option('--name <name>', 'the auth method\'s name')
    .action(async (flags: MethodFlags) => {
      if (!flags.name) throw CliErrors.usage('Must specify the -name parameter');
      try {
        await endpoint(flags, io).authMethodDelete(flags.name);
      } catch (err) {
        throw failure(`delete auth method ${JSON.stringify(flags.name)}`, err);
      }
      info(io, `Auth-method ${JSON.stringify(flags.name)} deleted successfully`);
    }));

  cmd.addCommand(addHttpFlags(new Command('list'))
    .description('List ACL auth methods')
    .option('--format <format>', 'output format: pretty or json', 'pretty')
    .action(async (flags: MethodFlags) => {
      const fmt = checkFormat(flags);
      let list;
      try {
        list = (await endpoint(flags, io).authMethodList()).value;
      } catch (err) {
        throw failure('retrieve the auth method list', err);
      }
      if (fmt === 'json') return info(io, JSON.stringify(list, null, 4));
      for (const m of list) {
        info(io, `${m.Name}:`);
        printAuthMethod(io, m, 'pretty');
      }
    }));
  return cmd;
}
