/** `meshgate catalog services [-tags] [-node NAME] [-node-meta k=v]` — Consul's `consul catalog services`. */
import { Command } from 'commander';
import type { CatalogServices } from '../../../api/types.ts';
import { columnize } from '../../format.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { info, type CliIO } from '../../io.ts';
import { queryError } from '../kv/get.ts';
import { collectNodeMeta } from './nodes.ts';

interface Flags extends HttpFlags {
  tags?: boolean;
  node?: string;
  nodeMeta: Record<string, string>;
}

export function catalogServicesCommand(io: CliIO): Command {
  return addHttpFlags(new Command('services'))
    .description('Lists all registered services in a datacenter')
    .option('--tags', 'show the tags of each service')
    .option('--node <name>', 'only services registered on this node')
    .option('--node-meta <key=value>', 'only services on nodes with this metadata (repeatable)', collectNodeMeta, {})
    .action(async (flags: Flags) => {
      const client = clientFrom(flags, io);
      let services: CatalogServices;
      try {
        if (flags.node) {
          const { value } = await client.catalog.node(flags.node, { stale: flags.stale === true });
          services = {};
          for (const svc of Object.values(value?.Services ?? {})) {
            services[svc.Service] = [...new Set([...(services[svc.Service] ?? []), ...(svc.Tags ?? [])])];
          }
        } else {
          services = (await client.catalog.services({ stale: flags.stale === true, nodeMeta: flags.nodeMeta })).value;
        }
      } catch (err) {
        throw queryError(err);
      }
      const names = Object.keys(services).sort();
      if (names.length === 0) {
        io.err('No services match the given query - try expanding your search.\n');
        return;
      }
      if (flags.tags) {
        for (const line of columnize(names.map((n) => [n, [...(services[n] ?? [])].sort().join(',')]))) info(io, line);
      } else for (const n of names) info(io, n);
    });
}
