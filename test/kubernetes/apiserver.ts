/**
 * An in-process Kubernetes API server for the Kubernetes integration's tests — the one part of the picture that
 * cannot be installed here. It keeps objects in memory and honours what controllers rely on, as the real API server
 * documents it (API Concepts: "Efficient detection of changes", "Resource versions", "Watch bookmarks"):
 * - one cluster-wide, monotonically increasing resourceVersion; every write stamps the object with the next one;
 * - list answers carry the collection's resourceVersion; `watch=true&resourceVersion=N` streams every change after N
 *   as newline-delimited events (ADDED, MODIFIED, DELETED), and answers an N older than the retained history with
 *   an ERROR event carrying 410 Gone ("too old resource version"), so clients relist;
 * - watch without resourceVersion starts with synthetic ADDED events for the current state;
 * - create (409 AlreadyExists, generateName), update with optimistic concurrency (409 Conflict on a stale
 *   resourceVersion), merge / strategic-merge / JSON patch, delete (finalizers hold an object with a
 *   deletionTimestamp), the status subresource, labelSelector and fieldSelector (metadata.name/namespace);
 * - Status objects for errors, as the real server sends them.
 * - mutating admission before a create is stored: registered MutatingWebhookConfigurations are called over HTTPS
 *   (admission.ts); `mapService` points a webhook's Service reference at a test URL;
 * - graceful pod deletion: a pod bound to a node (spec.nodeName) first gets deletionTimestamp and
 *   deletionGracePeriodSeconds, and is gone only after a delete with gracePeriodSeconds=0 (what the kubelet sends
 *   once the containers stopped); an unbound pod, or one that has finished, is deleted at once.
 * Routes are generic (`/api/v1/...`, `/apis/<group>/<version>/...`), so CRDs, Leases, EndpointSlices and
 * TokenReviews need no special code; `onCreate` hooks let a test answer review-style resources (TokenReview).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { runMutatingAdmission } from './admission.ts';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
    generation?: number;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  rv: number;
  key: string; // group/resource
}

/** Resources without a namespace (the rest are namespaced). */
const CLUSTER_SCOPED = new Set([
  'namespaces', 'nodes', 'persistentvolumes', 'customresourcedefinitions', 'mutatingwebhookconfigurations',
  'validatingwebhookconfigurations', 'clusterroles', 'clusterrolebindings', 'tokenreviews', 'subjectaccessreviews',
]);

const KIND_OVERRIDES: Record<string, string> = {
  endpoints: 'Endpoints', endpointslices: 'EndpointSlice', ingresses: 'Ingress', leases: 'Lease', policies: 'Policy',
  serviceaccounts: 'ServiceAccount', configmaps: 'ConfigMap', tokenreviews: 'TokenReview', servicedefaults: 'ServiceDefaults',
  serviceintentions: 'ServiceIntentions', serviceresolvers: 'ServiceResolver', servicerouters: 'ServiceRouter',
  servicesplitters: 'ServiceSplitter', proxydefaults: 'ProxyDefaults', meshes: 'Mesh', ingressgateways: 'IngressGateway',
  terminatinggateways: 'TerminatingGateway', customresourcedefinitions: 'CustomResourceDefinition',
  mutatingwebhookconfigurations: 'MutatingWebhookConfiguration', statefulsets: 'StatefulSet', daemonsets: 'DaemonSet',
  rolebindings: 'RoleBinding', clusterroles: 'ClusterRole', clusterrolebindings: 'ClusterRoleBinding',
};

function kindOf(resource: string): string {
  if (KIND_OVERRIDES[resource]) return KIND_OVERRIDES[resource];
  const singular = resource.endsWith('ses') ? resource.slice(0, -2) : resource.endsWith('s') ? resource.slice(0, -1) : resource;
  return singular.charAt(0).toUpperCase() + singular.slice(1);
}

export interface CreateHook {
  (object: KubeObject): KubeObject | undefined;
}

/** One request as a request hook sees it; `bearer` is the Authorization header's token, when sent. */
export interface ApiRequest {
  method: string;
  route: ApiRoute;
  body: unknown;
  bearer: string | undefined;
}

/**
 * Runs before the generic handling: answers the request itself (`{ status, body }`), refuses it by throwing an
 * `ApiError`, or returns undefined to let it through (authentication, RBAC, TokenRequest and TokenReview live in
 * test/kubernetes/service-accounts.ts as such hooks).
 */
export type RequestHook = (request: ApiRequest) => Promise<{ status: number; body: unknown } | undefined>;

export class FakeApiServer {
  #rv = 1;
  /** group/resource → namespace/name → object */
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #history: WatchEvent[] = [];
  readonly #watchers = new Set<{ key: string; namespace?: string; send: (e: WatchEvent) => void }>();
  readonly #hooks = new Map<string, CreateHook>();
  readonly #serviceUrls = new Map<string, string>();
  readonly #requestHooks: RequestHook[] = [];
  /** PEM key and certificate: serve HTTPS instead of HTTP. */
  readonly #tls: { key: string; cert: string } | undefined;

  constructor(options: { tls?: { key: string; cert: string } } = {}) {
    this.#tls = options.tls;
  }
  #server: Server | undefined;
  /** Events older than this many writes are forgotten: a watch from before them gets 410 Gone. */
  historyLimit = 1000;
  /** Every request seen, for assertions ("the controller never wrote X"). */
  readonly requests: Array<{ method: string; path: string }> = [];

  get resourceVersion(): number {
    return this.#rv;
  }

  #port = 0;

  /** Listens on loopback; after `close()`, listens again on the same port (an API server restart). */
  async start(): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.#handle(req, res);
    this.#server = this.#tls ? createHttpsServer({ key: this.#tls.key, cert: this.#tls.cert }, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.#server!.listen(this.#port, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return `${this.#tls ? 'https' : 'http'}://127.0.0.1:${this.#port}`;
  }

  async close(): Promise<void> {
    for (const w of this.#watchers) w.send = () => {};
    this.#watchers.clear();
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  /** Answer creates of `group/resource` (e.g. 'authentication.k8s.io/tokenreviews') with the hook's object, not stored. */
  onCreate(groupResource: string, hook: CreateHook): void {
    this.#hooks.set(groupResource, hook);
  }

  /** Where a webhook's `clientConfig.service` reference is reached (a cluster would route `<name>.<namespace>.svc`). */
  mapService(namespace: string, name: string, baseUrl: string): void {
    this.#serviceUrls.set(`${namespace}/${name}`, baseUrl);
  }

  /** Adds a hook every request passes through, in the order added. */
  addRequestHook(hook: RequestHook): void {
    this.#requestHooks.push(hook);
  }

  /** Makes the next watch from any resourceVersion at or below `rv` get 410 Gone (a compacted history). */
  compact(): void {
    this.#history.length = 0;
  }

  // ---- direct access for tests (same bookkeeping as the HTTP API) ----

  get(apiVersion: string, resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#table(this.#key(apiVersion, resource)).get(`${namespace ?? ''}/${name}`);
  }

  list(apiVersion: string, resource: string, namespace?: string): KubeObject[] {
    return [...this.#table(this.#key(apiVersion, resource)).values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace);
  }

  put(apiVersion: string, resource: string, object: KubeObject): KubeObject {
    const key = this.#key(apiVersion, resource);
    const id = `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    const existing = this.#table(key).get(id);
    return this.#store(key, { apiVersion, kind: kindOf(resource), ...object }, existing ? 'MODIFIED' : 'ADDED', existing);
  }

  remove(apiVersion: string, resource: string, namespace: string | undefined, name: string): void {
    const key = this.#key(apiVersion, resource);
    const existing = this.#table(key).get(`${namespace ?? ''}/${name}`);
    if (existing) this.#delete(key, existing);
  }

  // ---- internals ----

  #key(apiVersion: string, resource: string): string {
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    return `${group}/${resource}`;
  }

  #table(key: string): Map<string, KubeObject> {
    let table = this.#objects.get(key);
    if (!table) this.#objects.set(key, (table = new Map()));
    return table;
  }

  #store(key: string, object: KubeObject, type: 'ADDED' | 'MODIFIED', existing?: KubeObject): KubeObject {
    const rv = ++this.#rv;
    const meta = object.metadata;
    meta.resourceVersion = String(rv);
    meta.uid = existing?.metadata.uid ?? meta.uid ?? randomUUID();
    meta.creationTimestamp = existing?.metadata.creationTimestamp ?? new Date().toISOString();
    const specChanged = !existing || JSON.stringify(existing['spec']) !== JSON.stringify(object['spec']);
    meta.generation = (existing?.metadata.generation ?? 0) + (specChanged ? 1 : 0);
    const stored = structuredClone(object);
    this.#table(key).set(`${meta.namespace ?? ''}/${meta.name}`, stored);
    this.#emit({ type, object: stored, rv, key });
    return structuredClone(stored);
  }

  #delete(key: string, existing: KubeObject): KubeObject {
    if (existing.metadata.finalizers?.length) {
      if (existing.metadata.deletionTimestamp) return structuredClone(existing);
      const held = structuredClone(existing);
      held.metadata.deletionTimestamp = new Date().toISOString();
      return this.#store(key, held, 'MODIFIED', existing);
    }
    const rv = ++this.#rv;
    this.#table(key).delete(`${existing.metadata.namespace ?? ''}/${existing.metadata.name}`);
    const gone = structuredClone(existing);
    gone.metadata.resourceVersion = String(rv);
    this.#emit({ type: 'DELETED', object: gone, rv, key });
    return structuredClone(gone);
  }

  /**
   * A pod bound to a node is not removed by a delete with a grace period (registry/core/pod's
   * CheckGracefulDelete): it is marked with deletionTimestamp = now + grace and deletionGracePeriodSeconds, and only
   * a delete with gracePeriodSeconds=0 removes it. Undefined when the pod is to be removed now.
   */
  #terminateGracefully(key: string, pod: KubeObject, requested: number | undefined): KubeObject | undefined {
    const spec = (pod['spec'] ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
    const phase = ((pod['status'] ?? {}) as { phase?: string }).phase;
    if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return undefined;
    const grace = requested ?? spec.terminationGracePeriodSeconds ?? 30;
    if (grace <= 0) return undefined;
    const current = pod.metadata['deletionGracePeriodSeconds'] as number | undefined;
    // A second delete may only shorten the grace period.
    if (current !== undefined && current <= grace) return structuredClone(pod);
    const marked = structuredClone(pod);
    marked.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString();
    marked.metadata['deletionGracePeriodSeconds'] = grace;
    return this.#store(key, marked, 'MODIFIED', pod);
  }

  async #admit(route: Route, apiVersion: string, object: KubeObject): Promise<Awaited<ReturnType<typeof runMutatingAdmission>>> {
    const configurations = this.list('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations');
    if (configurations.length === 0) return { allowed: true, object };
    return runMutatingAdmission({
      operation: 'CREATE', group: route.group, version: route.version, resource: route.resource, kind: kindOf(route.resource),
      namespace: route.namespace, object: { ...object, apiVersion, kind: kindOf(route.resource) },
    }, {
      configurations,
      namespaceLabels: (name) => ({ ...(this.get('v1', 'namespaces', undefined, name)?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name }),
      serviceUrls: this.#serviceUrls,
      applyPatch: applyJsonPatch,
    });
  }

  #emit(event: WatchEvent): void {
    this.#history.push(event);
    if (this.#history.length > this.historyLimit) this.#history.splice(0, this.#history.length - this.historyLimit);
    for (const watcher of this.#watchers) {
      if (watcher.key === event.key && (watcher.namespace === undefined || watcher.namespace === event.object.metadata.namespace)) watcher.send(event);
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname });
    try {
      const route = parsePath(url.pathname);
      if (!route) return sendStatus(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
      // A DELETE may carry DeleteOptions (kubectl sends gracePeriodSeconds there).
      const body = req.method === 'GET' ? undefined : await readJson(req);
      const auth = req.headers.authorization;
      const bearer = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : undefined;
      for (const hook of this.#requestHooks) {
        const answer = await hook({ method: req.method ?? 'GET', route, body, bearer });
        if (answer) return sendJson(res, answer.status, answer.body);
      }
      await this.#dispatch(req.method ?? 'GET', route, url.searchParams, body, req.headers['content-type'] ?? '', res);
    } catch (err) {
      if (err instanceof ApiError) return sendStatus(res, err.code, err.reason, err.message);
      sendStatus(res, 500, 'InternalError', (err as Error).message);
    }
  }

  async #dispatch(method: string, route: Route, query: URLSearchParams, body: KubeObject | unknown[] | undefined, contentType: string, res: ServerResponse): Promise<void> {
    const key = `${route.group}/${route.resource}`;
    const apiVersion = route.group ? `${route.group}/${route.version}` : route.version;
    const table = this.#table(key);
    const id = `${route.namespace ?? ''}/${route.name ?? ''}`;
    if (!route.name) {
      if (method === 'GET' && query.get('watch') === 'true') return this.#watch(key, route, query, res);
      if (method === 'GET') {
        const items = [...table.values()].filter((o) => matches(o, route.namespace, query)).sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
        return sendJson(res, 200, { apiVersion, kind: `${kindOf(route.resource)}List`, metadata: { resourceVersion: String(this.#rv) }, items });
      }
      if (method === 'POST') {
        let object = body as KubeObject;
        if (!object || typeof object !== 'object' || !object.metadata) throw new ApiError(400, 'BadRequest', 'metadata: Required value');
        const hook = this.#hooks.get(key);
        if (hook) {
          const answer = hook(structuredClone(object));
          if (answer) return sendJson(res, 201, { apiVersion, kind: kindOf(route.resource), ...answer });
        }
        if (!object.metadata.name && !object.metadata.generateName) throw new ApiError(422, 'Invalid', 'metadata.name: Required value: name or generateName is required');
        if (route.namespace) object.metadata.namespace = route.namespace;
        const admitted = await this.#admit(route, apiVersion, object);
        if (!admitted.allowed) throw new ApiError(admitted.code, admitted.reason, admitted.message);
        object = admitted.object;
        // The name is generated after admission, as the real server does (a webhook sees generateName only).
        if (!object.metadata.name && object.metadata.generateName) object.metadata.name = `${object.metadata.generateName}${randomUUID().slice(0, 5)}`;
        if (table.has(`${route.namespace ?? ''}/${object.metadata.name}`)) {
          throw new ApiError(409, 'AlreadyExists', `${route.resource} "${object.metadata.name}" already exists`);
        }
        delete object.metadata.resourceVersion;
        return sendJson(res, 201, this.#store(key, { ...object, apiVersion, kind: kindOf(route.resource) }, 'ADDED'));
      }
      throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported on a collection`);
    }
    const existing = table.get(id);
    if (method === 'GET') {
      if (!existing) throw notFound(route);
      return sendJson(res, 200, existing);
    }
    if (method === 'DELETE') {
      if (!existing) throw notFound(route);
      const grace = gracePeriod(query, body);
      if (key === '/pods') {
        const terminating = this.#terminateGracefully(key, existing, grace);
        if (terminating) return sendJson(res, 200, terminating);
      }
      return sendJson(res, 200, this.#delete(key, existing));
    }
    if (method === 'PUT' || method === 'PATCH') {
      if (!existing) throw notFound(route);
      let next: KubeObject;
      if (method === 'PUT') {
        next = body as KubeObject;
        const sent = next.metadata?.resourceVersion;
        if (sent && sent !== existing.metadata.resourceVersion) {
          throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${route.resource} "${route.name}": the object has been modified; please apply your changes to the latest version and try again`);
        }
      } else if (contentType.includes('json-patch')) {
        next = applyJsonPatch(existing, body as unknown[]);
      } else {
        next = mergePatch(structuredClone(existing), body) as KubeObject;
      }
      if (route.subresource === 'status') next = { ...structuredClone(existing), status: next['status'] };
      else if (method === 'PUT' && existing['status'] !== undefined) next = { ...next, status: existing['status'] };
      next.metadata = { ...next.metadata, name: route.name, ...(route.namespace ? { namespace: route.namespace } : {}) };
      if (existing.metadata.deletionTimestamp && next.metadata.finalizers?.length === 0) {
        return sendJson(res, 200, this.#delete(key, { ...existing, metadata: { ...existing.metadata, finalizers: [] } }));
      }
      return sendJson(res, 200, this.#store(key, { ...next, apiVersion, kind: kindOf(route.resource) }, 'MODIFIED', existing));
    }
    throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported`);
  }

  #watch(key: string, route: Route, query: URLSearchParams, res: ServerResponse): void {
    const since = query.get('resourceVersion');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // The real API server answers a watch's headers at once; clients wait for them before reading events.
    res.flushHeaders();
    const write = (type: string, object: unknown): void => {
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const send = (event: WatchEvent): void => {
      if (matches(event.object, route.namespace, query)) write(event.type, event.object);
    };
    if (since && since !== '0') {
      const from = Number(since);
      const oldest = this.#history[0]?.rv ?? this.#rv + 1;
      if (from < oldest - 1 && from < this.#rv) {
        write('ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${oldest - 1})`, reason: 'Expired', code: 410 });
        res.end();
        return;
      }
      for (const event of this.#history) if (event.rv > from && event.key === key) send(event);
    } else {
      for (const object of this.#table(key).values()) if (matches(object, route.namespace, query)) write('ADDED', object);
    }
    const watcher = { key, ...(route.namespace ? { namespace: route.namespace } : {}), send };
    this.#watchers.add(watcher);
    const timeout = Number(query.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      this.#watchers.delete(watcher);
      if (timer) clearTimeout(timer);
    });
  }
}

type Route = ApiRoute;

export interface ApiRoute {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** `/api/v1/[namespaces/NS/]RES[/NAME[/SUB]]` and `/apis/G/V/[namespaces/NS/]RES[/NAME[/SUB]]`. */
function parsePath(path: string): Route | undefined {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let group = '';
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  // `namespaces/NS/RES…` is a namespaced path unless it is the namespace object itself (`namespaces/NS`).
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    return { group, version, namespace: rest[1]!, resource: rest[2]!, ...(rest[3] ? { name: rest[3] } : {}), ...(rest[4] ? { subresource: rest[4] } : {}) };
  }
  const resource = rest[0]!;
  const route: Route = { group, version, resource, ...(rest[1] ? { name: rest[1] } : {}), ...(rest[2] ? { subresource: rest[2] } : {}) };
  if (route.name && !CLUSTER_SCOPED.has(resource)) return undefined;
  return route;
}

function matches(object: KubeObject, namespace: string | undefined, query: URLSearchParams): boolean {
  if (namespace !== undefined && object.metadata.namespace !== namespace) return false;
  const labels = object.metadata.labels ?? {};
  for (const term of splitSelector(query.get('labelSelector'))) {
    const set = term.match(/^(\S+)\s+(in|notin)\s+\((.*)\)$/);
    if (set) {
      const values = set[3]!.split(',').map((v) => v.trim());
      const has = values.includes(labels[set[1]!] ?? '\u0000');
      if (set[2] === 'in' ? !has : has) return false;
    } else if (term.includes('!=')) {
      const [k, v] = term.split('!=') as [string, string];
      if (labels[k.trim()] === v.trim()) return false;
    } else if (term.includes('=')) {
      const [k, v] = term.split(/==?/) as [string, string];
      if (labels[k.trim()] !== v.trim()) return false;
    } else if (term.startsWith('!')) {
      if (term.slice(1) in labels) return false;
    } else if (!(term in labels)) return false;
  }
  for (const term of splitSelector(query.get('fieldSelector'))) {
    const negate = term.includes('!=');
    const [k, v] = term.split(/!=|==?/) as [string, string];
    const field = k.trim() === 'metadata.name' ? object.metadata.name : k.trim() === 'metadata.namespace' ? object.metadata.namespace : undefined;
    if ((field === v.trim()) === negate) return false;
  }
  return true;
}

/** Splits a selector on commas outside parentheses. */
function splitSelector(selector: string | null): string[] {
  if (!selector) return [];
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) terms.push(current.trim());
  return terms;
}

/** gracePeriodSeconds from the query, else from a DeleteOptions body. */
function gracePeriod(query: URLSearchParams, body: unknown): number | undefined {
  const raw = query.get('gracePeriodSeconds') ?? (body && typeof body === 'object' ? (body as { gracePeriodSeconds?: unknown }).gracePeriodSeconds : undefined);
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new ApiError(400, 'BadRequest', `gracePeriodSeconds: Invalid value: ${JSON.stringify(raw)}`);
  return Math.max(n, 0);
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function applyJsonPatch(existing: KubeObject, ops: unknown[]): KubeObject {
  const doc = structuredClone(existing) as unknown as Record<string, unknown>;
  for (const raw of ops) {
    const op = raw as { op: string; path: string; value?: unknown };
    const segments = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = segments.pop()!;
    let parent: Record<string, unknown> | unknown[] = doc;
    for (const s of segments) parent = (parent as Record<string, unknown>)[s] as Record<string, unknown>;
    if (parent === undefined) throw new ApiError(422, 'Invalid', `json patch: path ${op.path} does not exist`);
    if (op.op === 'test' && JSON.stringify((parent as Record<string, unknown>)[last]) !== JSON.stringify(op.value)) {
      throw new ApiError(422, 'Invalid', `json patch: test failed at ${op.path}`);
    }
    if (op.op === 'add' || op.op === 'replace') {
      if (Array.isArray(parent)) {
        if (last === '-') parent.push(op.value);
        else parent.splice(Number(last), op.op === 'add' ? 0 : 1, op.value);
      } else parent[last] = op.value;
    } else if (op.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    }
  }
  return doc as unknown as KubeObject;
}

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

function notFound(route: Route): ApiError {
  return new ApiError(404, 'NotFound', `${route.resource}${route.group ? `.${route.group}` : ''} "${route.name}" not found`);
}

async function readJson(req: IncomingMessage): Promise<KubeObject | unknown[] | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text) as KubeObject;
  } catch {
    throw new ApiError(400, 'BadRequest', 'request body is not JSON');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}
