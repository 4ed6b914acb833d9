/**
 * The connect injector (`meshgate k8s connect-inject`, flag for flag from `connectInject` values): the webhook on
 * every replica, the endpoints and CRD controllers behind their Leases; its Deployment, the Service the API server
 * calls, the serving certificate's Secret (given by file, so the injector writes no webhook configuration) and the
 * MutatingWebhookConfiguration carrying the CA that signed it. Pods are sent to it on CREATE only, never from
 * kube-system or kube-public nor Meshgate's own (objectSelector on the release's instance label, as consul-k8s's
 * chart excludes `app: consul`). `failurePolicy` is `connectInject.failurePolicy`, "Fail" by default as in
 * consul-k8s's chart (templates/connect-inject-mutatingwebhookconfiguration.yaml, values.yaml): while no injector
 * answers, a pod that should join the mesh is refused and retried by its controller instead of starting uninjected
 * — in transparent mode that would be a pod outside mTLS and intentions. The webhook itself never fails a review
 * (a bad pod is admitted with a logged reason), so Fail only bites when it is unreachable; "Ignore" trades that
 * for availability. RBAC: get namespaces (the webhook reads a namespace's transparent-proxy
 * label), list and watch pods, Endpoints and Services cluster-wide (the endpoints controller; a Service's cluster IP
 * is a transparent-proxy pod's virtual address), the CRD controller's rules,
 * its Leases.
 */
import {
  clusterRole, container, deployment, fullName, LEASE_RULE, meta, POD_NAMESPACE_ENV, role, selectorLabels, serverAddress,
  serviceAccount, tokenEnv, WEBHOOK_PORT, type BuildContext, type KubeObject,
} from '../common.ts';
import { not, repeatFlag, switchFlag } from '../template.ts';
import { CRD_CONTROLLER_RULES } from './crd-controller.ts';

export const WEBHOOK_PATH = '/mutate';
const TLS_DIR = '/etc/meshgate/webhook-tls';

export function connectInjectObjects(ctx: BuildContext): KubeObject[] {
  const { connectInject, global } = ctx.values;
  const name = fullName(ctx, 'connect-injector');
  const args = [
    'k8s', 'connect-inject',
    `--http-addr=${serverAddress(ctx)}`,
    `--listen=:${WEBHOOK_PORT}`,
    `--tls-cert-file=${TLS_DIR}/tls.crt`,
    `--tls-key-file=${TLS_DIR}/tls.key`,
    `--default-inject=${connectInject.default}`,
    `--default-enable-transparent-proxy=${connectInject.transparentProxy.defaultEnabled}`,
    `--transparent-proxy-default-overwrite-probes=${connectInject.transparentProxy.defaultOverwriteProbes}`,
    ...repeatFlag('--allow-k8s-namespace', connectInject.k8sAllowNamespaces),
    ...repeatFlag('--deny-k8s-namespace', connectInject.k8sDenyNamespaces),
    `--image=${global.image}`,
    `--webhook-service=${name}`,
    // With managed ACLs the injected init container logs in with the auth method server-acl-init creates.
    ...switchFlag(`--acl-auth-method=${global.name}-k8s-auth-method`, global.acls.manageSystemACLs),
    '--enable-webhook=true',
    '--enable-endpoints-controller=true',
    '--enable-crd-controller=true',
  ];
  return [
    serviceAccount(ctx, 'connect-injector'),
    ...clusterRole(ctx, 'connect-injector', [
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods', 'endpoints', 'services'], verbs: ['list', 'watch'] },
      ...CRD_CONTROLLER_RULES,
    ]),
    ...role(ctx, 'connect-injector', [LEASE_RULE]),
    deployment(ctx, 'connect-injector', connectInject.replicas, [container(ctx, 'connect-injector', args, {
      env: [POD_NAMESPACE_ENV, tokenEnv(ctx, 'connect-injector', not(global.acls.manageSystemACLs))],
      ports: [{ name: 'webhook', containerPort: WEBHOOK_PORT, protocol: 'TCP' }],
      readinessProbe: { httpGet: { path: '/health/ready', port: 'webhook', scheme: 'HTTPS' }, periodSeconds: 5 },
      volumeMounts: [{ name: 'webhook-tls', mountPath: TLS_DIR, readOnly: true }],
    })], { volumes: [{ name: 'webhook-tls', secret: { secretName: `${name}-tls` } }] }),
    {
      apiVersion: 'v1', kind: 'Service', metadata: meta(ctx, 'connect-injector'),
      spec: { selector: selectorLabels(ctx, 'connect-injector'), ports: [{ name: 'https', port: 443, targetPort: 'webhook', protocol: 'TCP' }] },
    },
  ];
}

/** The serving certificate and the webhook registration; the chart generates both together (files.ts). */
export function webhookObjects(ctx: BuildContext): KubeObject[] {
  const name = fullName(ctx, 'connect-injector');
  const { connectInject, global } = ctx.values;
  return [
    {
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: meta(ctx, 'connect-injector', `${name}-tls`),
      data: { 'tls.crt': ctx.tls.cert, 'tls.key': ctx.tls.key },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: meta(ctx, 'connect-injector', name, false),
      webhooks: [{
        name: `${name}.meshgate.io`,
        clientConfig: { service: { name, namespace: ctx.namespace, path: WEBHOOK_PATH, port: 443 }, caBundle: ctx.tls.caBundle },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-public'] }] },
        objectSelector: { matchExpressions: [{ key: 'app.kubernetes.io/instance', operator: 'NotIn', values: [global.name] }] },
        failurePolicy: connectInject.failurePolicy,
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 10,
      }],
    },
  ];
}

