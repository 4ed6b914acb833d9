/**
 * The endpoints controller (consul-k8s's control-plane/connect-inject/controllers/endpoints): keeps the catalog's
 * instances of injected pods equal to what the cluster's Endpoints and Pods say. Every change in either cache
 * schedules a reconcile of everything (the ReconcileLoop coalesces them); a periodic one repairs drift made behind our
 * back. A reconcile registers each injected pod address of each Endpoints object as its service and sidecar proxy
 * (registrations.ts), and deregisters every instance on a synthetic node that carries our `managed-by` and is no
 * longer wanted — after a restart too, so instances of pods that went while we were down are removed — deleting the
 * ACL tokens the pod logged in with (auth method's tokens whose login meta `pod` is `<ns>/<name>`, as consul-k8s's
 * deleteACLTokensForServiceInstance finds them) and the synthetic node once nothing is left on it. Instances we did
 * not write are never touched. Only the Lease holder writes; followers keep their caches warm.
 */
import { CoreV1Api, type KubeConfig, type V1Endpoints, type V1Pod, type V1Service } from '@kubernetes/client-node';
import type { ConsulClient } from '../../api/client.ts';
import type { CatalogRegistration } from '../../api/types/catalog.ts';
import type { Logger } from '../../lib/logger.ts';
import { parseBool } from '../annotations.ts';
import { Watched } from '../informer.ts';
import { ReconcileLoop } from '../reconcile-loop.ts';
import { MANAGED_BY, isInjected, registrationsFor, serviceIds, type HealthStatus } from './registrations.ts';

export interface EndpointsControllerOptions {
  kubeConfig: KubeConfig;
  consul: ConsulClient;
  logger: Logger;
  /** The `kubernetes` auth method pods log in with; their tokens are deleted with their instances. */
  authMethod?: string;
  /** Namespaces allowed (`*` = all) and denied (deny wins); kube-system and kube-public are always ignored. */
  allowK8sNamespaces?: ReadonlySet<string>;
  denyK8sNamespaces?: ReadonlySet<string>;
  /** Periodic full reconcile (default 30 s). */
  resyncIntervalMs?: number;
  quietPeriodMs?: number;
  /** Expose the moved HTTP probes of transparent-proxy pods unless a pod says otherwise (default true, as consul-k8s). */
  overwriteProbesDefault?: boolean;
}

interface Wanted {
  registration: CatalogRegistration;
  json: string;
}

/** `<node>/<service ID>`: an instance's identity in the catalog. */
function instanceKey(node: string, id: string): string {
  return `${node}/${id}`;
}

export class EndpointsController {
  readonly #options: EndpointsControllerOptions;
  readonly #endpoints: Watched<V1Endpoints>;
  readonly #pods: Watched<V1Pod>;
  /** Services: a transparent-proxy pod is registered with its Service's cluster IP as the virtual address. */
  readonly #services: Watched<V1Service>;
  readonly #loop: ReconcileLoop;
  /** Instance key → JSON of what we last registered, so an unchanged instance is not re-sent on every reconcile. */
  readonly #written = new Map<string, string>();
  /** Reconciles done and catalog writes made, for tests. */
  reconciles = 0;
  writes = 0;

  constructor(options: EndpointsControllerOptions) {
    this.#options = options;
    const { kubeConfig, logger } = options;
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const onChange = (): void => this.trigger();
    this.#endpoints = new Watched({ kubeConfig, logger, onChange, path: '/api/v1/endpoints', list: () => core.listEndpointsForAllNamespaces() });
    this.#pods = new Watched({ kubeConfig, logger, onChange, path: '/api/v1/pods', list: () => core.listPodForAllNamespaces() });
    this.#services = new Watched({ kubeConfig, logger, onChange, path: '/api/v1/services', list: () => core.listServiceForAllNamespaces() });
    this.#loop = new ReconcileLoop({
      reconcile: () => this.reconcile(), logger, what: 'endpoints reconcile',
      caches: [this.#endpoints, this.#pods, this.#services],
      resyncIntervalMs: options.resyncIntervalMs ?? 30_000,
      onStartedLeading: () => this.#written.clear(),
      ...(options.quietPeriodMs !== undefined ? { quietPeriodMs: options.quietPeriodMs } : {}),
    });
  }

  start(): Promise<void> {
    return this.#loop.start();
  }

  setLeading(leading: boolean): void {
    this.#loop.setLeading(leading);
  }

  trigger(): void {
    this.#loop.trigger();
  }

  #ignored(namespace: string): boolean {
    if (namespace === 'kube-system' || namespace === 'kube-public') return true;
    if (this.#options.denyK8sNamespaces?.has(namespace)) return true;
    const allow = this.#options.allowK8sNamespaces ?? new Set(['*']);
    return !allow.has('*') && !allow.has(namespace);
  }

  /** What the catalog should hold, and the instances to keep as they are (their pod's annotations are broken). */
  desired(): { wanted: Map<string, Wanted>; keep: Set<string> } {
    const pods = new Map(this.#pods.items().map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p]));
    const services = new Map(this.#services.items().map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
    const wanted = new Map<string, Wanted>();
    const keep = new Set<string>();
    for (const endpoints of this.#endpoints.items()) {
      const namespace = endpoints.metadata?.namespace ?? 'default';
      if (this.#ignored(namespace)) continue;
      const context = { service: services.get(`${namespace}/${endpoints.metadata?.name}`), overwriteProbesDefault: this.#options.overwriteProbesDefault ?? true };
      if (parseBool(endpoints.metadata?.labels?.['consul.hashicorp.com/service-ignore']) === true) continue;
      for (const subset of endpoints.subsets ?? []) {
        const addresses: Array<[typeof subset.addresses, HealthStatus]> = [[subset.addresses, 'passing'], [subset.notReadyAddresses, 'critical']];
        for (const [list, status] of addresses) {
          for (const address of list ?? []) {
            if (address.targetRef?.kind !== 'Pod') continue;
            const pod = pods.get(`${address.targetRef.namespace ?? namespace}/${address.targetRef.name}`);
            if (!pod || !isInjected(pod)) continue;
            const only = pod.metadata?.annotations?.['consul.hashicorp.com/kubernetes-service'];
            if (only && only !== endpoints.metadata?.name) continue;
            // consul-k8s skips a pod whose node is not known yet: registering it would put it on the wrong node.
            if (!pod.spec?.nodeName || !address.ip || !pod.status?.hostIP) continue;
            try {
              for (const registration of registrationsFor(pod, address.ip, endpoints, status, context)) {
                wanted.set(instanceKey(registration.Node, registration.Service!.ID!), { registration, json: JSON.stringify(registration) });
              }
            } catch (err) {
              this.#options.logger.warn({ err, pod: `${pod.metadata?.namespace}/${pod.metadata?.name}` }, 'cannot register pod; its instances are left as they are');
              const ids = serviceIds(pod, endpoints);
              const node = `${pod.spec.nodeName}-virtual`;
              keep.add(instanceKey(node, ids.service)).add(instanceKey(node, ids.proxy));
            }
          }
        }
      }
    }
    return { wanted, keep };
  }

  /**
   * Every instance we wrote that the catalog holds: services whose meta carries our `managed-by`, found as
   * consul-k8s's serviceInstances finds them (by service meta, not node meta: a node registered before us keeps its
   * own meta under SkipNodeUpdate).
   */
  async #current(): Promise<Array<{ node: string; service: { ID: string; Service: string; Meta: Record<string, string> } }>> {
    const { consul } = this.#options;
    const filter = `ServiceMeta["managed-by"] == "${MANAGED_BY}"`;
    const names = Object.keys((await consul.catalog.services({ filter })).value);
    const out: Array<{ node: string; service: { ID: string; Service: string; Meta: Record<string, string> } }> = [];
    for (const name of names) {
      for (const instance of (await consul.catalog.service(name, { filter })).value) {
        out.push({ node: instance.Node, service: { ID: instance.ServiceID, Service: instance.ServiceName, Meta: instance.ServiceMeta ?? {} } });
      }
    }
    return out;
  }

  async reconcile(): Promise<void> {
    if (!this.#loop.leading) return;
    const { consul, logger } = this.#options;
    const { wanted, keep } = this.desired();
    const current = await this.#current();
    const present = new Set(current.map((c) => instanceKey(c.node, c.service.ID)));
    for (const [key, { registration, json }] of wanted) {
      if (present.has(key) && this.#written.get(key) === json) continue;
      await consul.catalog.register(registration);
      this.#written.set(key, json);
      this.writes++;
      logger.debug({ service: registration.Service!.Service, id: registration.Service!.ID, health: registration.Check?.Status }, 'registered');
    }
    const emptied = new Set<string>();
    for (const { node, service } of current) {
      const key = instanceKey(node, service.ID);
      if (wanted.has(key) || keep.has(key)) continue;
      await consul.catalog.deregister({ Node: node, ServiceID: service.ID });
      this.#written.delete(key);
      this.writes++;
      emptied.add(node);
      logger.info({ service: service.Service, id: service.ID, node }, 'deregistered');
      if (this.#options.authMethod) await this.#deleteTokens(service);
    }
    for (const node of emptied) {
      const left = (await consul.catalog.nodeServices(node)).value?.Services ?? [];
      if (left.length === 0) await consul.catalog.deregister({ Node: node });
    }
    this.reconciles++;
  }

  /**
   * consul-k8s's deleteACLTokensForServiceInstance: tokens of our auth method with exactly this one service
   * identity whose login meta names this pod (`pod` = `<ns>/<name>`, and `pod-uid` when the token has one).
   */
  async #deleteTokens(service: { Service: string; Meta: Record<string, string> }): Promise<void> {
    const { consul, logger, authMethod } = this.#options;
    const podName = service.Meta?.['pod-name'];
    const namespace = service.Meta?.['k8s-namespace'];
    if (!podName || !namespace) return;
    const tokens = (await consul.acl.tokenList({ authMethod: authMethod!, serviceName: service.Service })).value;
    for (const token of tokens) {
      if (token.AuthMethod !== authMethod || token.ServiceIdentities?.length !== 1 || token.ServiceIdentities[0]!.ServiceName !== service.Service) continue;
      const meta = loginMeta(token.Description);
      if (!meta) continue;
      const uidMatches = !meta['pod-uid'] || meta['pod-uid'] === service.Meta?.['pod-uid'];
      if (meta['pod'] !== `${namespace}/${podName}` || !uidMatches) continue;
      await consul.acl.tokenDelete(token.AccessorID);
      logger.info({ pod: `${namespace}/${podName}`, accessor: token.AccessorID }, 'deleted the ACL token of a pod that is gone');
    }
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }
}

/** The JSON object at the end of a login token's Description ("token created via login: {…}"), as consul-k8s reads it. */
export function loginMeta(description: string): Record<string, string> | undefined {
  const start = description.indexOf('{');
  if (start < 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(description.slice(start));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, string>) : undefined;
  } catch {
    return undefined; // not a login token's description: not one of a pod's tokens
  }
}
