/**
 * A prepared query's request body (structs.PreparedQuery through decodeBody: PascalCase, case-insensitive keys) and
 * parseQuery / parseService / parseDNS's validation, in Consul's words (agent/consul/prepared_query_endpoint.go).
 */
import { z } from 'zod';
import { tryParseGoDuration } from './duration.ts';
import { QueryErrors, type StoredQuery } from './tables.ts';

const strings = z.array(z.string()).nullable().optional();
const stringMap = z.record(z.string(), z.string()).nullable().optional();

export const PreparedQuerySchema = z.object({
  ID: z.string().optional(),
  Name: z.string().optional(),
  Session: z.string().optional(),
  Token: z.string().optional(),
  Template: z.object({ Type: z.string().optional(), Regexp: z.string().optional(), RemoveEmptyTags: z.boolean().optional() }).nullable().optional(),
  Service: z.object({
    Service: z.string().optional(),
    Failover: z.object({
      NearestN: z.number().int().optional(),
      Datacenters: strings,
      Targets: z.array(z.object({
        Peer: z.string().optional(), Datacenter: z.string().optional(), Partition: z.string().optional(), Namespace: z.string().optional(),
      })).nullable().optional(),
    }).nullable().optional(),
    IgnoreCheckIDs: strings,
    OnlyPassing: z.boolean().optional(),
    Near: z.string().optional(),
    Tags: strings,
    NodeMeta: stringMap,
    ServiceMeta: stringMap,
    Peer: z.string().optional(),
    Connect: z.boolean().optional(),
    SamenessGroup: z.string().optional(),
    Namespace: z.string().optional(),
    Partition: z.string().optional(),
  }).nullable().optional(),
  DNS: z.object({ TTL: z.string().optional() }).nullable().optional(),
});

export type PreparedQueryInput = z.output<typeof PreparedQuerySchema>;

/** The definition to store, with Consul's zero values for what was not sent. */
export function toStoredQuery(input: PreparedQueryInput, id: string): StoredQuery {
  const s = input.Service ?? {};
  if (s.SamenessGroup) throw QueryErrors.invalid('Invalid prepared query: sameness groups are a Consul Enterprise feature');
  if ((s.Namespace && s.Namespace !== 'default') || (s.Partition && s.Partition !== 'default')) {
    throw QueryErrors.invalid('Invalid prepared query: namespaces and partitions are Consul Enterprise features');
  }
  const query: StoredQuery = {
    ID: id,
    Name: input.Name ?? '',
    Session: input.Session ?? '',
    Token: input.Token ?? '',
    Template: { Type: input.Template?.Type ?? '', Regexp: input.Template?.Regexp ?? '', RemoveEmptyTags: input.Template?.RemoveEmptyTags ?? false },
    Service: {
      Service: s.Service ?? '',
      Failover: {
        NearestN: s.Failover?.NearestN ?? 0,
        Datacenters: s.Failover?.Datacenters ?? null,
        Targets: s.Failover?.Targets?.map((t) => ({ Peer: t.Peer ?? '', Datacenter: t.Datacenter ?? '', ...(t.Partition ? { Partition: t.Partition } : {}), ...(t.Namespace ? { Namespace: t.Namespace } : {}) })) ?? null,
      },
      IgnoreCheckIDs: s.IgnoreCheckIDs ?? null,
      OnlyPassing: s.OnlyPassing ?? false,
      Near: s.Near ?? '',
      Tags: s.Tags ?? null,
      NodeMeta: s.NodeMeta ?? null,
      ServiceMeta: s.ServiceMeta ?? null,
      Peer: s.Peer ?? '',
      Connect: s.Connect ?? false,
    },
    DNS: { TTL: input.DNS?.TTL ?? '' },
  };
  parseQuery(query);
  return query;
}

/** Consul's parseQuery, with its messages behind "Invalid prepared query: ". */
function parseQuery(q: StoredQuery): void {
  const bad = (why: string) => QueryErrors.invalid(`Invalid prepared query: ${why}`);
  if (q.Name === '' && q.Template.Type === '' && q.Session === '') throw bad('Must be bound to a session');
  if (q.Token === '<hidden>') throw bad(`Bad Token '${q.Token}', it looks like a query definition with a redacted token was submitted`);
  if (q.Service.Service === '') throw bad('Must provide a Service name to query');
  if (q.Service.Failover.NearestN < 0) throw bad(`Bad NearestN '${q.Service.Failover.NearestN}', must be >= 0`);
  if (q.Service.Failover.Targets && (q.Service.Failover.NearestN !== 0 || (q.Service.Failover.Datacenters?.length ?? 0) > 0)) {
    throw bad('Targets cannot be populated with NearestN or Datacenters');
  }
  for (const key of Object.keys(q.Service.NodeMeta ?? {})) {
    if (key === '') throw bad("Couldn't load metadata pair: key cannot be blank");
  }
  if (q.DNS.TTL !== '') {
    const ms = tryParseGoDuration(q.DNS.TTL);
    if (ms === undefined) throw bad(`Bad DNS TTL '${q.DNS.TTL}': time: invalid duration ${JSON.stringify(q.DNS.TTL)}`);
    if (ms < 0) throw bad(`DNS TTL '${q.DNS.TTL}', must be >=0`);
  }
}
