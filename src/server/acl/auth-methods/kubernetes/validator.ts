/**
 * The `kubernetes` auth method's validator (Consul's agent/consul/authmethod/kubeauth/k8s.go ValidateLogin): the
 * login's bearer token must parse as a JWT, then the API server judges it with an authentication.k8s.io/v1
 * TokenReview; an authenticated `system:serviceaccount:<ns>:<name>` user becomes the identity
 * `serviceaccount.namespace`, `serviceaccount.name` (the ServiceAccount's `consul.hashicorp.com/service-name`
 * annotation overrides it) and `serviceaccount.uid`. A token the API server rejects is the caller's fault (403,
 * MG_ACL_LOGIN_REJECTED); the API server refusing our own calls is the method's (500, MG_ACL_K8S_API_FAILED, with
 * the server's message, e.g. a reviewer lacking system:auth-delegator).
 */
import { decodeJwt } from 'jose';
import type { FilterFields } from '../../../filter/index.ts';
import { ErrKubernetesApi, ErrLoginRejected } from '../errors.ts';
import type { AuthMethodRow, AuthMethodValidator, Identity } from '../types.ts';
import { kubeRequest, type KubeAnswer } from './api.ts';
import { parseKubernetesConfig, type KubernetesConfig } from './config.ts';

const SERVICE_NAME_ANNOTATION = 'consul.hashicorp.com/service-name';

/** go-bexpr's view of kubeauth's k8sFieldDetails: `serviceaccount.namespace`, `.name`, `.uid`. */
export const KUBERNETES_SELECTABLE_FIELDS: FilterFields = {
  serviceaccount: { struct: { namespace: 'string', name: 'string', uid: 'string' } },
};

function identity(namespace: string, name: string, uid: string): Identity {
  return {
    selectable: { serviceaccount: { namespace, name, uid } },
    projected: { 'serviceaccount.namespace': namespace, 'serviceaccount.name': name, 'serviceaccount.uid': uid },
  };
}

export async function createKubernetesValidator(method: AuthMethodRow): Promise<AuthMethodValidator> {
  const config = parseKubernetesConfig(method.Config);
  return {
    selectableFields: KUBERNETES_SELECTABLE_FIELDS,
    newIdentity: () => identity('', '', ''),
    validateLogin: (token) => validateLogin(method.Name, config, token),
  };
}

async function validateLogin(methodName: string, config: KubernetesConfig, token: string): Promise<Identity> {
  try {
    decodeJwt(token);
  } catch (err) {
    throw ErrLoginRejected(`failed to parse and validate JWT: ${(err as Error).message}`);
  }
  const review = await call(methodName, config, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token },
  });
  const status = (review.body?.status ?? {}) as { authenticated?: boolean; error?: string; user?: { username?: string; uid?: string } };
  if (status.error) throw ErrLoginRejected(`lookup failed: ${status.error}`);
  if (!status.authenticated) throw ErrLoginRejected('lookup failed: service account jwt not valid');
  const parts = (status.user?.username ?? '').split(':');
  if (parts.length !== 4) throw ErrLoginRejected('lookup failed: unexpected username format');
  if (parts[0] !== 'system' || parts[1] !== 'serviceaccount') throw ErrLoginRejected('lookup failed: username returned is not a service account');
  const namespace = parts[2]!;
  let name = parts[3]!;
  const account = await call(methodName, config, 'GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}`, undefined, 'annotation lookup failed');
  const override = account.body?.metadata?.annotations?.[SERVICE_NAME_ANNOTATION];
  if (typeof override === 'string' && override !== '') name = override;
  return identity(namespace, name, status.user?.uid ?? '');
}

async function call(methodName: string, config: KubernetesConfig, verb: 'GET' | 'POST', path: string, body?: unknown, what = 'token review failed'): Promise<KubeAnswer> {
  let answer: KubeAnswer;
  try {
    answer = await kubeRequest(config, verb, path, body);
  } catch (err) {
    throw ErrKubernetesApi(`auth method ${JSON.stringify(methodName)}: ${what}: ${config.baseUrl.origin}: ${(err as Error).message}`);
  }
  if (answer.status < 200 || answer.status >= 300) {
    const message = typeof answer.body?.message === 'string' ? answer.body.message : `status ${answer.status}`;
    const hint = answer.status === 403 ? ' (the ServiceAccountJWT\'s service account needs the system:auth-delegator ClusterRole and "get" on serviceaccounts)' : '';
    throw ErrKubernetesApi(`auth method ${JSON.stringify(methodName)}: ${what}: the Kubernetes API answered ${answer.status}: ${message}${hint}`);
  }
  return answer;
}
