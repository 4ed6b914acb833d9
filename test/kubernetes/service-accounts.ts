/**
 * Service-account authentication for the test API server, as the real one does it (Kubernetes docs: "Managing
 * Service Accounts", "TokenRequest API", "TokenReview"; "Using RBAC Authorization"):
 * - TokenRequest (`POST …/serviceaccounts/<name>/token`) issues a JWT signed with the server's own key (jose, ES256),
 *   with `sub` = `system:serviceaccount:<ns>:<name>`, the `kubernetes.io` claim naming the namespace, the service
 *   account (and its uid) and, for a `boundObjectRef` to a Pod, the pod;
 * - a request that carries a bearer token is authenticated by it (401 Unauthorized when it does not verify) and
 *   authorized by RBAC: ClusterRoleBindings and RoleBindings naming the service account, through the roles' rules
 *   (apiGroups, resources, verbs, `*` allowed), 403 Forbidden with the real server's message otherwise. A request
 *   without a bearer token is the test harness itself, the cluster's administrator, and is let through;
 * - TokenReview (`POST /apis/authentication.k8s.io/v1/tokenreviews`) validates a token for real: signature, expiry,
 *   audience, and that the service account (same uid) and a bound pod still exist; `authenticated: false` with an
 *   `error` otherwise, never an HTTP error for a bad reviewed token;
 * - the `system:auth-delegator` ClusterRole exists, as it does on every real cluster.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, jwtVerify, type CryptoKey } from 'jose';
import { ApiError, type ApiRequest, type FakeApiServer, type KubeObject } from './apiserver.ts';

export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const RBAC = 'rbac.authorization.k8s.io/v1';

interface ServiceAccountClaims {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
}

interface Verified {
  username: string;
  uid: string;
  namespace: string;
  pod?: { name: string; uid: string };
  audiences: string[];
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}

export interface ServiceAccountAuth {
  /** A token for the service account through the server's own TokenRequest code (tests on the fake only). */
  issue(namespace: string, name: string, options?: { expirationSeconds?: number; pod?: string }): Promise<string>;
}

export async function installServiceAccountAuth(fake: FakeApiServer): Promise<ServiceAccountAuth> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  fake.put(RBAC, 'clusterroles', {
    metadata: { name: 'system:auth-delegator' },
    rules: [
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
      { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
    ],
  });

  type TokenRequestSpec = { expirationSeconds?: number; audiences?: string[]; boundObjectRef?: { kind?: string; name?: string } };
  async function issue(namespace: string, name: string, spec: TokenRequestSpec): Promise<{ token: string; expires: Date }> {
    const account = fake.get('v1', 'serviceaccounts', namespace, name);
    if (!account) throw new ApiError(404, 'NotFound', `serviceaccounts "${name}" not found`);
    const seconds = spec.expirationSeconds ?? 3600;
    if (seconds < 600) throw new ApiError(422, 'Invalid', 'spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes');
    const claims: ServiceAccountClaims = { namespace, serviceaccount: { name, uid: account.metadata.uid! } };
    if (spec.boundObjectRef) {
      if (spec.boundObjectRef.kind !== 'Pod') throw new ApiError(422, 'Invalid', 'spec.boundObjectRef.kind: Unsupported value: only Pod is bound here');
      const pod = fake.get('v1', 'pods', namespace, spec.boundObjectRef.name ?? '');
      if (!pod) throw new ApiError(404, 'NotFound', `pods "${spec.boundObjectRef.name}" not found`);
      claims.pod = { name: pod.metadata.name!, uid: pod.metadata.uid! };
    }
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ 'kubernetes.io': claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'fake-apiserver' })
      .setIssuer(SERVICE_ACCOUNT_ISSUER)
      .setSubject(`system:serviceaccount:${namespace}:${name}`)
      .setAudience(spec.audiences?.length ? spec.audiences : [SERVICE_ACCOUNT_ISSUER])
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + seconds)
      .setJti(randomUUID())
      .sign(privateKey);
    return { token, expires: new Date((now + seconds) * 1000) };
  }

  /** The token's service account, or why it is not valid (the real server's TokenReview errors are terse too). */
  async function verify(token: string): Promise<Verified | string> {
    let payload: Record<string, unknown>;
    try {
      payload = (await jwtVerify(token, publicKey as CryptoKey, { issuer: SERVICE_ACCOUNT_ISSUER, algorithms: ['ES256'] })).payload;
    } catch (err) {
      return `invalid bearer token, ${(err as Error).message}`;
    }
    const claims = payload['kubernetes.io'] as ServiceAccountClaims | undefined;
    if (!claims?.serviceaccount) return 'invalid bearer token, not a service account token';
    const account = fake.get('v1', 'serviceaccounts', claims.namespace, claims.serviceaccount.name);
    if (!account || account.metadata.uid !== claims.serviceaccount.uid) {
      return `invalid bearer token, service account ${claims.namespace}/${claims.serviceaccount.name} has been deleted`;
    }
    if (claims.pod) {
      const pod = fake.get('v1', 'pods', claims.namespace, claims.pod.name);
      if (!pod || pod.metadata.uid !== claims.pod.uid || pod.metadata.deletionTimestamp) return `invalid bearer token, pod ${claims.namespace}/${claims.pod.name} is gone`;
    }
    const aud = payload.aud;
    return {
      username: `system:serviceaccount:${claims.namespace}:${claims.serviceaccount.name}`,
      uid: claims.serviceaccount.uid,
      namespace: claims.namespace,
      ...(claims.pod ? { pod: claims.pod } : {}),
      audiences: Array.isArray(aud) ? aud : typeof aud === 'string' ? [aud] : [],
    };
  }

  function allowed(user: Verified, verb: string, group: string, resource: string, namespace: string | undefined): boolean {
    const [, , saNamespace, saName] = user.username.split(':');
    const names = (subjects: unknown): boolean =>
      Array.isArray(subjects) && subjects.some((s: { kind?: string; name?: string; namespace?: string }) => s.kind === 'ServiceAccount' && s.name === saName && s.namespace === saNamespace);
    const rulesOf = (ref: { kind?: string; name?: string } | undefined, bindingNamespace: string | undefined): PolicyRule[] => {
      if (!ref?.name) return [];
      const role = ref.kind === 'Role' ? fake.get(RBAC, 'roles', bindingNamespace, ref.name) : fake.get(RBAC, 'clusterroles', undefined, ref.name);
      return (role?.['rules'] as PolicyRule[] | undefined) ?? [];
    };
    const rules: PolicyRule[] = [];
    for (const binding of fake.list(RBAC, 'clusterrolebindings')) {
      if (names(binding['subjects'])) rules.push(...rulesOf(binding['roleRef'] as { kind?: string; name?: string }, undefined));
    }
    if (namespace !== undefined) {
      for (const binding of fake.list(RBAC, 'rolebindings', namespace)) {
        if (names(binding['subjects'])) rules.push(...rulesOf(binding['roleRef'] as { kind?: string; name?: string }, namespace));
      }
    }
    const has = (list: string[] | undefined, value: string): boolean => (list ?? []).includes('*') || (list ?? []).includes(value);
    return rules.some((r) => has(r.apiGroups, group) && has(r.resources, resource) && has(r.verbs, verb));
  }

  fake.addRequestHook(async (request: ApiRequest) => {
    const { route, method } = request;
    if (request.bearer !== undefined) {
      const user = await verify(request.bearer);
      if (typeof user === 'string') throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const verb = verbOf(method, route.name !== undefined);
      const resource = route.subresource ? `${route.resource}/${route.subresource}` : route.resource;
      if (!allowed(user, verb, route.group, resource, route.namespace)) {
        const what = `${route.resource}${route.group ? `.${route.group}` : ''}${route.name ? ` "${route.name}"` : ''}`;
        const scope = route.namespace !== undefined ? `in the namespace "${route.namespace}"` : 'at the cluster scope';
        throw new ApiError(403, 'Forbidden', `${what} is forbidden: User "${user.username}" cannot ${verb} resource "${resource}" in API group "${route.group}" ${scope}`);
      }
    }
    if (method === 'POST' && route.group === '' && route.resource === 'serviceaccounts' && route.subresource === 'token' && route.name && route.namespace) {
      const body = (request.body ?? {}) as KubeObject & { spec?: { expirationSeconds?: number; audiences?: string[]; boundObjectRef?: { kind?: string; name?: string } } };
      const { token, expires } = await issue(route.namespace, route.name, body.spec ?? {});
      return {
        status: 201,
        body: {
          apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
          metadata: { name: route.name, namespace: route.namespace, creationTimestamp: new Date().toISOString() },
          spec: body.spec ?? {}, status: { token, expirationTimestamp: expires.toISOString() },
        },
      };
    }
    if (method === 'POST' && route.group === 'authentication.k8s.io' && route.resource === 'tokenreviews' && !route.name) {
      const spec = ((request.body ?? {}) as { spec?: { token?: string; audiences?: string[] } }).spec ?? {};
      const user = await verify(spec.token ?? '');
      const wanted = spec.audiences?.length ? spec.audiences : [SERVICE_ACCOUNT_ISSUER];
      let status: Record<string, unknown>;
      if (typeof user === 'string') status = { authenticated: false, error: user };
      else if (!user.audiences.some((a) => wanted.includes(a))) status = { authenticated: false, error: 'invalid bearer token, token audiences are invalid' };
      else {
        status = {
          authenticated: true,
          user: {
            username: user.username, uid: user.uid,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${user.namespace}`, 'system:authenticated'],
            ...(user.pod ? { extra: { 'authentication.kubernetes.io/pod-name': [user.pod.name], 'authentication.kubernetes.io/pod-uid': [user.pod.uid] } } : {}),
          },
          audiences: user.audiences.filter((a) => wanted.includes(a)),
        };
      }
      return { status: 201, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { creationTimestamp: null }, spec, status } };
    }
    return undefined;
  });

  return {
    async issue(namespace, name, options = {}) {
      return (await issue(namespace, name, {
        ...(options.expirationSeconds ? { expirationSeconds: options.expirationSeconds } : {}),
        ...(options.pod ? { boundObjectRef: { kind: 'Pod', name: options.pod } } : {}),
      })).token;
    },
  };
}

/** The RBAC verb of a request (Kubernetes docs, "Determine the Request Verb"). */
function verbOf(method: string, named: boolean): string {
  switch (method) {
    case 'POST': return 'create';
    case 'PUT': return 'update';
    case 'PATCH': return 'patch';
    case 'DELETE': return named ? 'delete' : 'deletecollection';
    default: return named ? 'get' : 'list';
  }
}
