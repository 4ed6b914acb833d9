/**
 * The discovery chain compiler: a service's service-router → service-splitter → service-resolver entries turned
 * into Consul's CompiledDiscoveryChain (agent/consul/discoverychain/compile.go; shape from
 * agent/structs/discovery_chain.go). Nodes are keyed `router:<svc>.<ns>.<partition>`, `splitter:…` and
 * `resolver:<target id>`; targets are keyed by their ID `[<subset>.]<svc>.<ns>.<partition>.<dc>`. As in Consul, a
 * router gets a catch-all route last, nested splitters are flattened with their weights multiplied, resolvers
 * follow redirects and default subsets, failover targets are resolved without failover of their own, the
 * protocols of every service in the chain must agree, and routers and splitters need an HTTP-like protocol.
 * Community Edition: namespace and partition are always "default".
 */
import { defineError } from '../../lib/errors.ts';
import { formatDuration, parseDuration } from '../../lib/duration.ts';
import type {
  ProxyDefaultsEntry, ServiceDefaultsEntry, ServiceResolverEntry, ServiceRouterEntry, ServiceSplitterEntry,
} from './schemas.ts';
import { isHttpLike, scaleWeight } from './validate.ts';
import type { CompiledDiscoveryChain, DiscoveryGraphNode, DiscoveryTarget } from '../../api/types/config.ts';

export type { CompiledDiscoveryChain, DiscoveryGraphNode, DiscoveryTarget };

/** structs.ConfigEntryGraphError: the entries, taken together, do not form a valid chain. */
export const ErrChainGraph = defineError('MG_DISCOVERY_CHAIN_INVALID', 400, (message: string) => message);

const NS = 'default';
const PARTITION = 'default';
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** How the compiler reads entries: by kind and name, from the store or from a proposed write's staged view. */
export type EntryLookup = (kind: string, name: string) => unknown;

export interface CompileRequest {
  serviceName: string;
  datacenter: string;
  trustDomain: string;
  entries: EntryLookup;
  overrideProtocol?: string | undefined;
  overrideConnectTimeoutMs?: number | undefined;
  overrideMeshGatewayMode?: string | undefined;
}

interface TargetOpts {
  Service: string;
  ServiceSubset?: string | undefined;
  Datacenter?: string | undefined;
}

const mapKey = (n: DiscoveryGraphNode): string => `${n.Type}:${n.Name}`;
const serviceIdString = (svc: string): string => `${svc}.${NS}.${PARTITION}`;

/** chainID in agent/structs/discovery_chain.go. */
export function targetId(service: string, subset: string | undefined, datacenter: string): string {
  return subset ? `${subset}.${service}.${NS}.${PARTITION}.${datacenter}` : `${service}.${NS}.${PARTITION}.${datacenter}`;
}

/** connect.ServiceSNI for the default partition. */
export function serviceSni(service: string, subset: string | undefined, datacenter: string, trustDomain: string): string {
  return [...(subset ? [subset] : []), service, NS, datacenter, 'internal', trustDomain].join('.');
}

class Compiler {
  private readonly req: CompileRequest;
  private protocol = '';
  private usesAdvancedRouting = false;
  private readonly disableAdvancedRouting: boolean;
  private customizedProtocol = false;
  private customizedTimeout = false;
  private customizedGateway = false;
  private readonly splitterNodes = new Map<string, DiscoveryGraphNode>();
  private readonly resolveNodes = new Map<string, DiscoveryGraphNode>();
  readonly nodes = new Map<string, DiscoveryGraphNode>();
  private readonly loadedTargets = new Map<string, DiscoveryTarget>();
  private readonly retainedTargets = new Set<string>();
  startNode = '';

  constructor(req: CompileRequest) {
    this.req = req;
    this.disableAdvancedRouting = req.overrideProtocol ? !isHttpLike(req.overrideProtocol) : false;
  }

  private get<T>(kind: string, name: string): T | undefined {
    return (this.req.entries(kind, name) ?? undefined) as T | undefined;
  }

  compile(): CompiledDiscoveryChain {
    this.assemble();
    this.detectCircularReferences();
    this.flattenSplitters();
    this.removeUnusedNodes();
    for (const id of [...this.loadedTargets.keys()]) if (!this.retainedTargets.has(id)) this.loadedTargets.delete(id);
    if (!isHttpLike(this.protocol) && this.usesAdvancedRouting) {
      throw ErrChainGraph(`discovery chain ${JSON.stringify(this.req.serviceName)} uses a protocol ${JSON.stringify(this.protocol)} that does not permit advanced routing or splitting behavior`);
    }
    if (this.req.overrideProtocol && this.req.overrideProtocol !== this.protocol) {
      this.protocol = this.req.overrideProtocol;
      this.customizedProtocol = true;
    }
    const serviceDefaults = this.get<ServiceDefaultsEntry>('service-defaults', this.req.serviceName);
    const chain: CompiledDiscoveryChain = {
      ServiceName: this.req.serviceName,
      Namespace: NS,
      Partition: PARTITION,
      Datacenter: this.req.datacenter,
      ...(this.customizationHash() ? { CustomizationHash: this.customizationHash()! } : {}),
      ...(this.isDefaultChain() ? { Default: true } : {}),
      Protocol: this.protocol,
      ...(serviceDefaults?.Meta && Object.keys(serviceDefaults.Meta).length > 0 ? { ServiceMeta: serviceDefaults.Meta } : {}),
      StartNode: this.startNode,
      Nodes: sortedRecord(this.nodes),
      Targets: sortedRecord(this.loadedTargets),
    };
    return chain;
  }

  /** A short stable tag of the overrides that changed the result (Consul hashes them; any stable digest will do). */
  private customizationHash(): string | undefined {
    if (!this.customizedProtocol && !this.customizedTimeout && !this.customizedGateway) return undefined;
    const text = JSON.stringify([
      this.customizedGateway ? this.req.overrideMeshGatewayMode : '',
      this.customizedProtocol ? this.req.overrideProtocol : '',
      this.customizedTimeout ? this.req.overrideConnectTimeoutMs : 0,
    ]);
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    return h.toString(16).padStart(8, '0');
  }

  private isDefaultChain(): boolean {
    const node = this.nodes.get(this.startNode);
    if (!node || node.Type !== 'resolver' || !node.Resolver?.Default) return false;
    const t = this.loadedTargets.get(node.Resolver.Target);
    return t?.Service === this.req.serviceName;
  }

  private recordServiceProtocol(service: string): void {
    const sd = this.get<ServiceDefaultsEntry>('service-defaults', service);
    let protocol = sd?.Protocol ?? '';
    if (!sd) {
      const pd = this.get<ProxyDefaultsEntry>('proxy-defaults', 'global');
      const p = pd?.Config?.protocol ?? pd?.Config?.Protocol;
      if (typeof p === 'string') protocol = p;
    }
    protocol = protocol === '' ? 'tcp' : protocol.toLowerCase();
    if (this.protocol === '') this.protocol = protocol;
    else if (this.protocol !== protocol) {
      throw ErrChainGraph(`discovery chain ${JSON.stringify(this.req.serviceName)} uses inconsistent protocols; service ${JSON.stringify(service)} has ${JSON.stringify(protocol)} which is not ${JSON.stringify(this.protocol)}`);
    }
  }

  private recordNode(node: DiscoveryGraphNode): void {
    if (node.Type === 'splitter') this.splitterNodes.set(node.Name, node);
    if (node.Type === 'resolver') this.resolveNodes.set(node.Resolver!.Target, node);
    this.nodes.set(mapKey(node), node);
  }

  private assemble(): void {
    const name = this.req.serviceName;
    let router = this.get<ServiceRouterEntry>('service-router', name);
    if (router && this.disableAdvancedRouting) {
      router = undefined;
      this.customizedProtocol = true;
    }
    if (!router) {
      this.startNode = mapKey(this.splitterOrResolver(this.newTarget({ Service: name })));
      return;
    }
    const routeNode: DiscoveryGraphNode = { Type: 'router', Name: serviceIdString(router.Name ?? name), Routes: [] };
    this.usesAdvancedRouting = true;
    this.recordServiceProtocol(name);
    for (const route of router.Routes ?? []) {
      const dest = route.Destination ?? { Service: name };
      const svc = dest.Service || name;
      const node = dest.ServiceSubset
        ? this.resolverNode(this.newTarget({ Service: svc, ServiceSubset: dest.ServiceSubset }), false)
        : this.splitterOrResolver(this.newTarget({ Service: svc }));
      routeNode.Routes!.push({ Definition: route, NextNode: mapKey(node) });
    }
    const fallback = this.splitterOrResolver(this.newTarget({ Service: name }));
    routeNode.Routes!.push({
      Definition: { Match: { HTTP: { PathPrefix: '/' } }, Destination: { Service: name, Namespace: NS, Partition: PARTITION } },
      NextNode: mapKey(fallback),
    });
    this.startNode = mapKey(routeNode);
    this.recordNode(routeNode);
  }

  private newTarget(opts: TargetOpts): DiscoveryTarget {
    const dc = opts.Datacenter || this.req.datacenter;
    const id = targetId(opts.Service, opts.ServiceSubset, dc);
    const prev = this.loadedTargets.get(id);
    if (prev) return prev;
    const sni = serviceSni(opts.Service, opts.ServiceSubset, dc, this.req.trustDomain);
    const t: DiscoveryTarget = {
      ID: id,
      Service: opts.Service,
      ...(opts.ServiceSubset ? { ServiceSubset: opts.ServiceSubset } : {}),
      Namespace: NS,
      Partition: PARTITION,
      Datacenter: dc,
      MeshGateway: {},
      Subset: {},
      TransparentProxy: {},
      SNI: sni,
      Name: sni,
    };
    this.loadedTargets.set(id, t);
    return t;
  }

  /** rewriteTarget: a redirect or failover applied to a target; another service drops the subset. */
  private rewriteTarget(t: DiscoveryTarget, opts: Partial<TargetOpts>): DiscoveryTarget {
    let service = t.Service;
    let subset = t.ServiceSubset;
    if (opts.Service && opts.Service !== service) {
      service = opts.Service;
      subset = undefined;
    }
    if (opts.ServiceSubset) subset = opts.ServiceSubset;
    return this.newTarget({ Service: service, ServiceSubset: subset, Datacenter: opts.Datacenter || t.Datacenter });
  }

  private splitterOrResolver(target: DiscoveryTarget): DiscoveryGraphNode {
    return this.splitterNode(target.Service) ?? this.resolverNode(target, false);
  }

  private splitterNode(service: string): DiscoveryGraphNode | undefined {
    const name = serviceIdString(service);
    const prev = this.splitterNodes.get(name);
    if (prev) return prev;
    let splitter = this.get<ServiceSplitterEntry>('service-splitter', service);
    if (splitter && this.disableAdvancedRouting) {
      splitter = undefined;
      this.customizedProtocol = true;
    }
    if (!splitter) return undefined;
    const node: DiscoveryGraphNode = { Type: 'splitter', Name: name, Splits: [] };
    this.recordNode(node);
    let hasLB = false;
    for (const split of splitter.Splits ?? []) {
      const compiled = { Definition: split as Record<string, unknown>, Weight: split.Weight ?? 0, NextNode: '' };
      node.Splits!.push(compiled);
      const svc = split.Service || service;
      if (svc !== service && !split.ServiceSubset) {
        const next = this.splitterNode(svc);
        if (next) {
          compiled.NextNode = mapKey(next);
          continue;
        }
      }
      const resolved = this.resolverNode(this.newTarget({ Service: svc, ServiceSubset: split.ServiceSubset }), false);
      compiled.NextNode = mapKey(resolved);
      const lb = resolved.LoadBalancer as { Policy?: string } | undefined;
      if (!hasLB && lb && (lb.Policy === 'ring_hash' || lb.Policy === 'maglev')) {
        node.LoadBalancer = lb;
        hasLB = true;
      }
    }
    this.usesAdvancedRouting = true;
    return node;
  }

  private resolverNode(start: DiscoveryTarget, forFailover: boolean): DiscoveryGraphNode {
    let target = start;
    const history = new Set<string>();
    const order: string[] = [];
    for (;;) {
      const prev = this.resolveNodes.get(target.ID);
      if (prev) return prev;
      this.recordServiceProtocol(target.Service);
      const resolver = this.get<ServiceResolverEntry>('service-resolver', target.Service) ?? { Name: target.Service };
      if (history.has(target.ID)) {
        order.push(target.ID);
        throw ErrChainGraph(`detected circular resolver redirect: [${order.join(' -> ')}]`);
      }
      history.add(target.ID);
      order.push(target.ID);
      if (resolver.Redirect) {
        const r = resolver.Redirect;
        const redirected = this.rewriteTarget(target, { Service: r.Service, ServiceSubset: r.ServiceSubset, Datacenter: r.Datacenter });
        if (redirected.ID !== target.ID) {
          target = redirected;
          continue;
        }
      }
      if (!target.ServiceSubset && resolver.DefaultSubset) {
        target = this.rewriteTarget(target, { ServiceSubset: resolver.DefaultSubset });
        continue;
      }
      return this.buildResolverNode(target, resolver, forFailover);
    }
  }

  private buildResolverNode(target: DiscoveryTarget, resolver: ServiceResolverEntry, forFailover: boolean): DiscoveryGraphNode {
    const subsets = resolver.Subsets ?? {};
    if (target.ServiceSubset && !Object.hasOwn(subsets, target.ServiceSubset)) {
      throw ErrChainGraph(`service ${JSON.stringify(target.Service)} does not have a subset named ${JSON.stringify(target.ServiceSubset)}`);
    }
    let timeoutMs = resolver.ConnectTimeout ? parseDuration(resolver.ConnectTimeout) : 0;
    if (timeoutMs < 1) timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS;
    if (this.req.overrideConnectTimeoutMs && this.req.overrideConnectTimeoutMs > 0 && this.req.overrideConnectTimeoutMs !== timeoutMs) {
      timeoutMs = this.req.overrideConnectTimeoutMs;
      this.customizedTimeout = true;
    }
    target.ConnectTimeout = formatDuration(timeoutMs);
    const isDefault = !resolver.DefaultSubset && Object.keys(subsets).length === 0 && !resolver.Redirect
      && Object.keys(resolver.Failover ?? {}).length === 0 && !resolver.ConnectTimeout && !resolver.RequestTimeout && !resolver.LoadBalancer;
    const requestTimeoutMs = resolver.RequestTimeout ? parseDuration(resolver.RequestTimeout) : 0;
    const node: DiscoveryGraphNode = {
      Type: 'resolver',
      Name: target.ID,
      Resolver: {
        ...(isDefault ? { Default: true } : {}),
        ConnectTimeout: target.ConnectTimeout,
        ...(requestTimeoutMs > 0 ? { RequestTimeout: Math.round(requestTimeoutMs * 1e6) } : {}),
        Target: target.ID,
      },
      ...(resolver.LoadBalancer ? { LoadBalancer: resolver.LoadBalancer } : {}),
    };
    const subset = target.ServiceSubset ? subsets[target.ServiceSubset] : undefined;
    target.Subset = subset ? { ...(subset.Filter ? { Filter: subset.Filter } : {}), ...(subset.OnlyPassing ? { OnlyPassing: true } : {}) } : {};
    const sd = this.get<ServiceDefaultsEntry>('service-defaults', target.Service);
    if (sd?.ExternalSNI) {
      target.SNI = sd.ExternalSNI;
      target.External = true;
      if (resolver.Redirect) throw ErrChainGraph(`service ${JSON.stringify(target.Service)} has an external SNI set; cannot define redirects for external services`);
      if (Object.keys(subsets).length > 0) throw ErrChainGraph(`service ${JSON.stringify(target.Service)} has an external SNI set; cannot define subsets for external services`);
      if (Object.keys(resolver.Failover ?? {}).length > 0) throw ErrChainGraph(`service ${JSON.stringify(target.Service)} has an external SNI set; cannot define failover for external services`);
    } else {
      const pd = this.get<ProxyDefaultsEntry>('proxy-defaults', 'global');
      const mode = sd?.MeshGateway?.Mode || pd?.MeshGateway?.Mode || '';
      let effective = mode;
      if (this.req.overrideMeshGatewayMode && this.req.overrideMeshGatewayMode !== mode) {
        effective = this.req.overrideMeshGatewayMode;
        this.customizedGateway = true;
      }
      target.MeshGateway = effective ? { Mode: effective } : {};
    }
    this.retainedTargets.add(target.ID);
    if (forFailover) return node;
    this.recordNode(node);
    const failovers = resolver.Failover ?? {};
    const failover = failovers[target.ServiceSubset ?? ''] ?? failovers['*'];
    if (!failover) return node;
    const targets: DiscoveryTarget[] = [];
    const push = (t: DiscoveryTarget): void => {
      if (t.ID !== target.ID) targets.push(t);
    };
    if ((failover.Datacenters ?? []).length > 0) {
      for (const dc of failover.Datacenters!) {
        push(this.rewriteTarget(target, { Service: failover.Service, ServiceSubset: failover.ServiceSubset, Datacenter: dc }));
      }
    } else if ((failover.Targets ?? []).length > 0) {
      for (const t of failover.Targets!) push(this.rewriteTarget(target, { Service: t.Service, ServiceSubset: t.ServiceSubset, Datacenter: t.Datacenter }));
    } else {
      push(this.rewriteTarget(target, { Service: failover.Service, ServiceSubset: failover.ServiceSubset }));
    }
    if (targets.length > 0) {
      const ids: string[] = [];
      for (const t of targets) ids.push(this.resolverNode(t, true).Resolver!.Target);
      const pd = this.get<ProxyDefaultsEntry>('proxy-defaults', 'global');
      const policy = failover.Policy?.Mode ? failover.Policy : pd?.FailoverPolicy;
      node.Resolver!.Failover = { Targets: ids, ...(policy ? { Policy: policy } : {}) };
    }
    return node;
  }

  private detectCircularReferences(): void {
    const visit = (key: string, chain: string[]): void => {
      if (chain.includes(key)) throw ErrChainGraph(`detected circular reference: [${[...chain, key].join(' -> ')}]`);
      const node = this.nodes.get(key);
      if (!node) return;
      const next = [...(node.Routes ?? []).map((r) => r.NextNode), ...(node.Splits ?? []).map((s) => s.NextNode)];
      for (const n of next) visit(n, [...chain, key]);
    };
    visit(this.startNode, []);
  }

  private flattenSplitters(): void {
    for (let changedAny = true; changedAny; ) {
      changedAny = false;
      for (const node of this.nodes.values()) {
        if (node.Type !== 'splitter') continue;
        const fixed: NonNullable<DiscoveryGraphNode['Splits']> = [];
        let changed = false;
        for (const split of node.Splits!) {
          const next = this.nodes.get(split.NextNode);
          if (next?.Type !== 'splitter') {
            fixed.push(split);
            continue;
          }
          changed = true;
          for (const inner of next.Splits!) {
            const weight = scaleWeight((split.Weight * inner.Weight) / 100) / 100;
            fixed.push({ Definition: mergeParentSplit(inner.Definition, split.Definition), Weight: weight, NextNode: inner.NextNode });
          }
        }
        if (changed) {
          node.Splits = fixed;
          changedAny = true;
        }
      }
    }
  }

  private removeUnusedNodes(): void {
    const visited = new Set<string>();
    const todo = [this.startNode];
    while (todo.length > 0) {
      const key = todo.pop()!;
      if (visited.has(key)) continue;
      visited.add(key);
      const node = this.nodes.get(key);
      if (!node) continue;
      for (const r of node.Routes ?? []) todo.push(r.NextNode);
      for (const s of node.Splits ?? []) todo.push(s.NextNode);
    }
    for (const key of [...this.nodes.keys()]) if (!visited.has(key)) this.nodes.delete(key);
  }
}

/** ServiceSplit.MergeParent: the child's request headers win over the parent's, the parent's response headers win. */
function mergeParentSplit(child: Record<string, unknown>, parent: Record<string, unknown>): Record<string, unknown> {
  const merge = (a: unknown, b: unknown): Record<string, unknown> | undefined => {
    if (!a && !b) return undefined;
    const x = (a ?? {}) as Record<string, Record<string, string> | string[] | undefined>;
    const y = (b ?? {}) as Record<string, Record<string, string> | string[] | undefined>;
    return {
      ...((x.Add || y.Add) ? { Add: { ...(x.Add as object), ...(y.Add as object) } } : {}),
      ...((x.Set || y.Set) ? { Set: { ...(x.Set as object), ...(y.Set as object) } } : {}),
      ...((x.Remove || y.Remove) ? { Remove: [...((x.Remove as string[]) ?? []), ...((y.Remove as string[]) ?? [])] } : {}),
    };
  };
  const out: Record<string, unknown> = { ...child };
  const req = merge(parent.RequestHeaders, child.RequestHeaders);
  const res = merge(child.ResponseHeaders, parent.ResponseHeaders);
  if (req) out.RequestHeaders = req;
  if (res) out.ResponseHeaders = res;
  return out;
}

function sortedRecord<V>(m: Map<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of [...m.keys()].sort()) out[k] = m.get(k)!;
  return out;
}

export function compileDiscoveryChain(req: CompileRequest): CompiledDiscoveryChain {
  if (!req.serviceName) throw ErrChainGraph('serviceName is required');
  return new Compiler(req).compile();
}
