/** The live server replicas, as the operator endpoints report them (see README.md). */
import { Tables, getNode, serviceKey } from '../catalog/index.ts';
import { CONSUL_SERVICE_ID } from '../catalog/local-agent.ts';
import type { ServerDeps } from '../deps.ts';

export interface Replica {
  ID: string;
  Node: string;
  /** `<node address>:8300`, the Raft address shape Consul reports. */
  Address: string;
  Leader: boolean;
  Version: string;
}

/** Consul's default server RPC (Raft) port, which its operator endpoints report in addresses. */
export const RAFT_PORT = 8300;

/** The candidate a server campaigns with: `<node name> <node id>` (main.ts). */
export function parseCandidate(candidate: string): { node: string; id: string } {
  const at = candidate.lastIndexOf(' ');
  return at < 0 ? { node: candidate, id: '' } : { node: candidate.slice(0, at), id: candidate.slice(at + 1) };
}

export async function liveReplicas(deps: ServerDeps): Promise<Replica[]> {
  const { store, identity } = deps;
  const self: Replica = {
    ID: identity.nodeId, Node: identity.nodeName, Address: `${identity.address}:${RAFT_PORT}`, Leader: store.isLeader, Version: identity.version,
  };
  const campaigners = await store.replicas();
  if (campaigners === undefined) return [self];
  const seen = new Set<string>();
  const out: Replica[] = [];
  for (const c of campaigners) {
    const { node, id } = parseCandidate(c.candidate);
    if (seen.has(id)) continue; // a replica re-campaigning may briefly hold two keys
    seen.add(id);
    if (id === identity.nodeId) {
      out.push({ ...self, Leader: c.leader });
      continue;
    }
    const meta = getNode(store, node)?.value;
    const consul = store.get<{ Meta: Record<string, string> }>(Tables.services, serviceKey(node, CONSUL_SERVICE_ID))?.value;
    out.push({
      ID: id, Node: node, Address: `${meta?.Address ?? ''}:${RAFT_PORT}`, Leader: c.leader, Version: consul?.Meta.version ?? identity.version,
    });
  }
  // This replica's campaign key may not be written yet (just started): it is live all the same.
  if (!seen.has(identity.nodeId)) out.push({ ...self, Leader: false });
  return out;
}
