/** `meshgate catalog nodes [-detailed] [-service NAME] [-near NODE] [-node-meta k=v]` — Consul's `consul catalog nodes`. */
import { Command } from 'commander';
import type { Node } from '../../../api/types.ts';
import { columnize, mapString } from '../../format.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { queryError } from '../kv/get.ts';

interface Flags extends HttpFlags {
  detailed?: boolean;
  service?: string;
  near?: string;
  nodeMeta: Record<string, string>;
}

export function catalogNodesCommand(io: CliIO): Command {
  return addHttpFlags(new Command('nodes'))
    .description('Lists all nodes in the given datacenter')
    .option('--detailed', 'show full node IDs, tagged addresses and metadata')
    .option('--service <name>', 'only nodes providing this service')
    .option('--near <node>', 'sort by round-trip time from this node')
    .option('--node-meta <key=value>', 'only nodes with this metadata (repeatable)', collectNodeMeta, {})
    .action(async (flags: Flags) => {
      const client = clientFrom(flags, io);
      const q = { stale: flags.stale === true, nodeMeta: flags.nodeMeta, ...(flags.near ? { near: flags.near } : {}) };
      let nodes: Node[];
      try {
        if (flags.service) {
          const { value } = await client.catalog.service(flags.service, q);
          const seen = new Set<string>();
          nodes = [];
          for (const s of value) {
            if (seen.has(s.Node)) continue;
            seen.add(s.Node);
            nodes.push({
              ID: s.ID, Node: s.Node, Address: s.Address, Datacenter: s.Datacenter, TaggedAddresses: s.TaggedAddresses,
              Meta: s.NodeMeta, CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex,
            });
          }
        } else nodes = (await client.catalog.nodes(q)).value;
      } catch (err) {
        throw queryError(err);
      }
      if (nodes.length === 0) {
        io.err('No nodes match the given query - try expanding your search.\n');
        return;
      }
      const header = flags.detailed ? ['Node', 'ID', 'Address', 'DC', 'TaggedAddresses', 'Meta'] : ['Node', 'ID', 'Address', 'DC'];
      const rows = nodes.map((n) => {
        const row = [n.Node, flags.detailed ? n.ID : n.ID.slice(0, 8), n.Address, n.Datacenter];
        if (flags.detailed) row.push(mapString(n.TaggedAddresses), mapString(n.Meta));
        return row;
      });
      for (const line of columnize([header, ...rows])) info(io, line);
    });
}

/** Accumulates repeated `-node-meta key=value` flags. */
export function collectNodeMeta(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw CliErrors.usage(`Error! -node-meta must be key=value, got "${value}"`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}
