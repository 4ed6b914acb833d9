/**
 * The discovery-chain walk (chain.ts) against chains shaped as the server's compiler writes them
 * (agent/structs/discovery_chain.go; src/server/config-entries/discovery-chain.ts): ServiceRouteHTTPMatch semantics
 * from Consul's service-router docs — path exact/prefix/regex (RE2, whole path), headers, methods, query parameters,
 * first matching route wins — then weighted splits, then the resolver's target followed by its failover targets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompiledDiscoveryChain, DiscoveryTarget } from '../api/types.ts';
import { fixedPlan, planConnection, planRequest, routeMatches, type RequestFacts } from './chain.ts';

const target = (id: string, service: string, subset?: string): DiscoveryTarget => ({
  ID: id, Service: service, ...(subset ? { ServiceSubset: subset } : {}), Namespace: 'default', Partition: 'default', Datacenter: 'dc1',
  MeshGateway: {}, Subset: {}, TransparentProxy: {}, SNI: `${id}.internal.x.consul`, Name: id,
});

const chain: CompiledDiscoveryChain = {
  ServiceName: 'api', Namespace: 'default', Partition: 'default', Datacenter: 'dc1', Protocol: 'http', StartNode: 'router:api.default.default',
  Nodes: {
    'router:api.default.default': {
      Type: 'router', Name: 'api.default.default',
      Routes: [
        { Definition: { Match: { HTTP: { PathRegex: '/v[0-9]+/items' } }, Destination: { ServiceSubset: 'v2', RequestTimeout: '2s', NumRetries: 2 } }, NextNode: 'resolver:v2.api.default.default.dc1' },
        { Definition: { Match: { HTTP: { PathPrefix: '/admin', Methods: ['POST'] } }, Destination: { ServiceSubset: 'v2', PrefixRewrite: '/' } }, NextNode: 'resolver:v2.api.default.default.dc1' },
        { Definition: { Match: { HTTP: { QueryParam: [{ Name: 'beta', Exact: '1' }] } } }, NextNode: 'resolver:v2.api.default.default.dc1' },
        { Definition: { Match: { HTTP: { PathPrefix: '/' } } }, NextNode: 'splitter:api.default.default' },
      ],
    },
    'splitter:api.default.default': {
      Type: 'splitter', Name: 'api.default.default',
      Splits: [{ Definition: {}, Weight: 90, NextNode: 'resolver:v1.api.default.default.dc1' }, { Definition: {}, Weight: 10, NextNode: 'resolver:v2.api.default.default.dc1' }],
    },
    'resolver:v1.api.default.default.dc1': {
      Type: 'resolver', Name: 'v1.api.default.default.dc1',
      Resolver: { ConnectTimeout: '3s', RequestTimeout: 5e9, Target: 'v1.api.default.default.dc1', Failover: { Targets: ['api-dr.default.default.dc1'] } },
    },
    'resolver:v2.api.default.default.dc1': { Type: 'resolver', Name: 'v2.api.default.default.dc1', Resolver: { ConnectTimeout: '5s', Target: 'v2.api.default.default.dc1' } },
  },
  Targets: {
    'v1.api.default.default.dc1': target('v1.api.default.default.dc1', 'api', 'v1'),
    'v2.api.default.default.dc1': target('v2.api.default.default.dc1', 'api', 'v2'),
    'api-dr.default.default.dc1': target('api-dr.default.default.dc1', 'api-dr'),
  },
};

const facts = (path: string, extra: Partial<RequestFacts> = {}): RequestFacts => {
  const q = path.indexOf('?');
  return { method: 'GET', path: q === -1 ? path : path.slice(0, q), query: q === -1 ? '' : path.slice(q + 1), headers: {}, ...extra };
};
const always = (x: number) => () => x;

test('a regex route matches the whole path only, and carries its destination\'s timeout and retries', () => {
  const plan = planRequest(chain, facts('/v12/items'), always(0));
  assert.deepEqual(plan.targets.map((t) => t.ID), ['v2.api.default.default.dc1']);
  assert.equal(plan.requestTimeoutMs, 2000);
  assert.equal(plan.numRetries, 2);
  // Not a full match: falls through to the catch-all split.
  assert.equal(planRequest(chain, facts('/v12/items/3'), always(0)).targets[0]!.ID, 'v1.api.default.default.dc1');
});

test('methods narrow a route; a prefix rewrite replaces the matched prefix', () => {
  assert.equal(planRequest(chain, facts('/admin/x'), always(0)).targets[0]!.ID, 'v1.api.default.default.dc1');
  const post = planRequest(chain, facts('/admin/x', { method: 'POST' }), always(0));
  assert.equal(post.targets[0]!.ID, 'v2.api.default.default.dc1');
  assert.deepEqual(post.prefixRewrite, { prefix: '/admin', replacement: '/' });
});

test('a query parameter route matches on the exact value', () => {
  assert.equal(planRequest(chain, facts('/x?beta=1'), always(0)).targets[0]!.ID, 'v2.api.default.default.dc1');
  assert.equal(planRequest(chain, facts('/x?beta=2'), always(0)).targets[0]!.ID, 'v1.api.default.default.dc1');
});

test('splits are weighted: the random point picks the split whose range holds it', () => {
  assert.equal(planRequest(chain, facts('/'), always(0)).targets[0]!.ID, 'v1.api.default.default.dc1');
  assert.equal(planRequest(chain, facts('/'), always(0.899)).targets[0]!.ID, 'v1.api.default.default.dc1');
  assert.equal(planRequest(chain, facts('/'), always(0.9)).targets[0]!.ID, 'v2.api.default.default.dc1');
});

test('a resolver lists its failover targets after its own, with its connect and request timeouts', () => {
  const plan = planRequest(chain, facts('/'), always(0));
  assert.deepEqual(plan.targets.map((t) => t.ID), ['v1.api.default.default.dc1', 'api-dr.default.default.dc1']);
  assert.equal(plan.connectTimeoutMs, 3000);
  assert.equal(plan.requestTimeoutMs, 5000);
});

test('a tcp chain starts at a resolver', () => {
  const tcp: CompiledDiscoveryChain = { ...chain, Protocol: 'tcp', StartNode: 'resolver:v2.api.default.default.dc1' };
  assert.deepEqual(planConnection(tcp).targets.map((t) => t.ID), ['v2.api.default.default.dc1']);
});

test('a chain starting at a resolver has one fixed plan, equal to the per-request walk; a router or splitter has none', () => {
  const single: CompiledDiscoveryChain = { ...chain, StartNode: 'resolver:v1.api.default.default.dc1' };
  const plan = fixedPlan(single);
  assert.deepEqual(plan, planRequest(single, facts('/any/path?x=1', { method: 'POST' }), always(0.99)));
  assert.deepEqual(plan?.targets.map((t) => t.ID), ['v1.api.default.default.dc1', 'api-dr.default.default.dc1']);
  assert.equal(plan?.connectTimeoutMs, 3000);
  assert.equal(fixedPlan(chain), undefined);
  assert.equal(fixedPlan({ ...chain, StartNode: 'splitter:api.default.default' }), undefined);
});

test('header matches: exact, presence and inverted', () => {
  const route = (Header: unknown[]) => ({ Match: { HTTP: { Header } } }) as Parameters<typeof routeMatches>[0];
  assert.equal(routeMatches(route([{ Name: 'x-v', Exact: '2' }]), facts('/', { headers: { 'x-v': '2' } })), true);
  assert.equal(routeMatches(route([{ Name: 'x-v', Exact: '2' }]), facts('/', { headers: { 'x-v': '3' } })), false);
  assert.equal(routeMatches(route([{ Name: 'x-v', Present: true }]), facts('/', { headers: {} })), false);
  assert.equal(routeMatches(route([{ Name: 'x-v', Exact: '2', Invert: true }]), facts('/', { headers: { 'x-v': '3' } })), true);
});
