/**
 * The one distance sort behind `?near=` (catalog, health) and a prepared query's `Near`: Consul's
 * sortNodesByDistanceFrom (agent/consul/rtt.go). With no source node, or a source without a coordinate, the order
 * is left as it is. Otherwise items are sorted by serf distance from the source, stably: a node without a
 * coordinate gets an infinite distance, so it sorts after every node with one and keeps its previous order among
 * its like (node name order in the catalog's views).
 */
import type { StoreReader } from '../store/types.ts';
import { coordinateOf, distanceSeconds } from './tables.ts';

/** `_agent` is the node of the agent answering (Consul's magic value); anything else is a node name. */
export function nearSource(near: string | null | undefined, agentNode: string): string | undefined {
  if (near === null || near === undefined || near === '') return undefined;
  return near === '_agent' ? agentNode : near;
}

export function sortByNear<T>(store: StoreReader, source: string | undefined, items: readonly T[], nodeOf: (item: T) => string): T[] {
  const out = [...items];
  if (source === undefined) return out;
  const from = coordinateOf(store, source);
  if (!from) return out;
  const distance = new Map<string, number>();
  const of = (node: string): number => {
    let d = distance.get(node);
    if (d === undefined) {
      const to = coordinateOf(store, node);
      d = to ? distanceSeconds(from.Coord, to.Coord) : Infinity;
      distance.set(node, d);
    }
    return d;
  };
  // Array.prototype.sort is stable (ES2019); Infinity - Infinity is NaN, so compare explicitly.
  return out.sort((a, b) => {
    const da = of(nodeOf(a));
    const db = of(nodeOf(b));
    return da === db ? 0 : da < db ? -1 : 1;
  });
}
