/** `meshgate acl bootstrap` — Consul's `consul acl bootstrap`: the first management token, printed once. */
import { Command } from 'commander';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import type { CliIO } from '../../io.ts';
import { checkFormat, failure, printToken, type FormatFlag } from './shared.ts';

export function aclBootstrapCommand(io: CliIO): Command {
  return addHttpFlags(new Command('bootstrap'))
    .description('Bootstrap Consul\'s ACL system (once; see the bootstrap reset procedure)')
    .option('--format <format>', 'output format: pretty or json', 'pretty')
    .action(async (flags: HttpFlags & FormatFlag) => {
      const format = checkFormat(flags);
      let token;
      try {
        token = await clientFrom(flags, io).acl.bootstrap();
      } catch (err) {
        throw failure('bootstrap ACLs', err);
      }
      printToken(io, token, format);
    });
}
