/**
 * `meshgate gateway healthcheck [Traefik flags…]` — Traefik's cmd/healthcheck for container health checks: the same
 * static configuration sources as the gateway, then `HEAD http://<ping entry point>/ping` with a 5 s timeout. Exit 0
 * and `OK: <url>` on 200; exit 1 with `Error calling healthcheck: …` or `Bad healthcheck status: …` otherwise.
 */
import { Command } from 'commander';
import { request } from 'undici';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { gatewayInvocation, sourceOptions } from '../gateway.ts';

/** An entry point address as a client dials it: an unspecified host is this machine. */
export function dialAddress(address: string): string {
  const m = /^(.*):(\d+)(?:\/\w+)?$/.exec(address);
  if (!m) return address;
  const host = m[1]!;
  const local = host === '' || host === '0.0.0.0' || host === '[::]' || host === '::';
  return `${local ? '127.0.0.1' : host}:${m[2]}`;
}

export function healthcheckCommand(io: CliIO): Command {
  return new Command('healthcheck')
    .description('Calls the gateway /ping endpoint (ping must be enabled) to check the health of the gateway')
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[flags...]', 'Traefik static configuration flags')
    .action(async (args: string[]) => {
      const { loadStaticConfig } = await import('../../../gateway/config/static.ts');
      const options = sourceOptions(gatewayInvocation(args, io).source);
      const config = await loadStaticConfig(options.configFile, options.overrides);
      if (!config.ping) throw CliErrors.failed('Error calling healthcheck: please enable `ping` to use health check');
      const entryPoint = config.entryPoints[config.ping.entryPoint];
      if (!entryPoint) throw CliErrors.failed(`Error calling healthcheck: ping: missing ${config.ping.entryPoint} entry point`);
      const url = `http://${dialAddress(entryPoint.address)}/ping`;
      let status: number;
      try {
        const res = await request(url, { method: 'HEAD', headersTimeout: 5000, bodyTimeout: 5000, signal: AbortSignal.timeout(5000) });
        await res.body.dump();
        status = res.statusCode;
      } catch (err) {
        throw CliErrors.failed(`Error calling healthcheck: Head "${url}": ${(err as Error).message}`);
      }
      if (status !== 200) throw CliErrors.failed(`Bad healthcheck status: ${status}`);
      info(io, `OK: ${url}`);
    });
}
