/**
 * The `coordinates` table (key: node name, value: StoredCoordinate) and serf's coordinate arithmetic
 * (hashicorp/serf coordinate/coordinate.go: DistanceTo, IsValid, NewCoordinate's defaults).
 */
import { defineError } from '../../lib/errors.ts';
import type { StoreReader } from '../store/types.ts';
import { CONSUL_SERVICE_ID } from '../catalog/local-agent.ts';
import { Tables, serviceKey, type StoredNode } from '../catalog/tables.ts';

export const COORDINATES_TABLE = 'coordinates';

/** serf's Coordinate; field names as Consul's api.Coordinate / lib.Coordinate send them. */
export interface Coord {
  Vec: number[];
  Error: number;
  Adjustment: number;
  Height: number;
}

export interface StoredCoordinate {
  Node: string;
  Segment: string;
  Coord: Coord;
}

/** api.CoordinateEntry: what /v1/coordinate/nodes and /node/:n list. */
export interface CoordinateEntry {
  Node: string;
  Segment: string;
  Partition?: string;
  Coord: Coord;
  CreateIndex?: number;
  ModifyIndex?: number;
}

/** serf's DefaultConfig: 8 dimensions, VivaldiErrorMax 1.5, HeightMin 10 µs. */
export const DIMENSIONALITY = 8;
export const originCoordinate = (): Coord => ({ Vec: Array<number>(DIMENSIONALITY).fill(0), Error: 1.5, Adjustment: 0, Height: 1e-5 });

export const ErrInvalidCoordinate = defineError('MG_COORDINATE_INVALID', 400, (why: string) => `invalid coordinate: ${why}`);

/** serf's IsValid plus the dimensionality Consul's servers use (IsCompatibleWith). */
export function validateCoord(c: Coord): void {
  if (c.Vec.length !== DIMENSIONALITY) throw ErrInvalidCoordinate(`Vec must have ${DIMENSIONALITY} components, got ${c.Vec.length}`);
  for (const [name, v] of [...c.Vec.map((x, i) => [`Vec[${i}]`, x] as const), ['Error', c.Error], ['Adjustment', c.Adjustment], ['Height', c.Height]] as const) {
    if (!Number.isFinite(v)) throw ErrInvalidCoordinate(`${name} is not a finite number`);
  }
}

/** serf's DistanceTo, in seconds: Euclidean distance plus both heights, adjusted when the adjusted value is positive. */
export function distanceSeconds(a: Coord, b: Coord): number {
  let sum = 0;
  for (let i = 0; i < a.Vec.length; i++) {
    const d = (a.Vec[i] ?? 0) - (b.Vec[i] ?? 0);
    sum += d * d;
  }
  const raw = Math.sqrt(sum) + a.Height + b.Height;
  const adjusted = raw + a.Adjustment + b.Adjustment;
  return adjusted > 0 ? adjusted : raw;
}

/** Whether `node` is a server (runs the `consul` service), which Consul always gives a coordinate. */
function isServerNode(store: StoreReader, node: string): boolean {
  return store.get(Tables.services, serviceKey(node, CONSUL_SERVICE_ID)) !== undefined;
}

/**
 * The coordinate of a registered node: the one sent for it, the origin for a server node without one, else
 * undefined. A coordinate whose node left the catalog is gone with it, as Consul deletes coordinates with nodes.
 */
export function coordinateOf(store: StoreReader, node: string): CoordinateEntry | undefined {
  if (!store.get<StoredNode>(Tables.nodes, node)) return undefined;
  const row = store.get<StoredCoordinate>(COORDINATES_TABLE, node);
  if (row) return { Node: node, Segment: row.value.Segment, Coord: row.value.Coord, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex };
  if (isServerNode(store, node)) return { Node: node, Segment: '', Coord: originCoordinate() };
  return undefined;
}

/** Every registered node's coordinate, by node name. */
export function listCoordinates(store: StoreReader): CoordinateEntry[] {
  const out: CoordinateEntry[] = [];
  for (const n of store.list<StoredNode>(Tables.nodes)) {
    const entry = coordinateOf(store, n.key);
    if (entry) out.push(entry);
  }
  return out;
}
