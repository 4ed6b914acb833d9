/**
 * `meshgate k8s server-acl-init` (consul-k8s's server-acl-init job): with ACLs on, makes the cluster's mesh ready
 * for pods to log in, idempotently — a rerun finds what the last run made and changes only what differs.
 * 1. A management token: the one given, else the one a previous run kept in the Secret
 *    `<prefix>-bootstrap-acl-token`, else `PUT /v1/acl/bootstrap` (kept in that Secret).
 * 2. The `kubernetes` auth method `<prefix>-k8s-auth-method`: Host (the in-cluster API address or the
 *    kubeconfig's), the cluster's CA, and the reviewer's token from the service-account-token Secret the manifests
 *    create (waited for: the token controller fills it after the Secret appears).
 * 3. Its binding rule: service identity `${serviceaccount.name}` (consul-k8s's), with the selector given.
 * 4. Each component's policy (policies.ts) and token, the token kept in the Secret `<prefix>-<component>-acl-token`
 *    (key `token`) the component's pods read; a token already there that still resolves is kept.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { AclAuthEndpoint } from '../../api/acl-auth.ts';
import type { ConsulClient } from '../../api/client.ts';
import { isApiStatusError } from '../../api/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { clusterCaPem } from '../kubeconfig.ts';
import { ErrServerAclInit } from './errors.ts';
import { COMPONENTS, COMPONENT_RULES, type Component } from './policies.ts';
import { TokenSecrets } from './secrets.ts';

export interface ServerAclInitOptions {
  kubeConfig: KubeConfig;
  consul: ConsulClient;
  logger: Logger;
  resourcePrefix: string;
  /** Namespace of the Secrets (the release's). */
  namespace: string;
  /** The service-account-token Secret holding the auth method's reviewer JWT (default `<prefix>-auth-method`). */
  authMethodTokenSecret?: string;
  /** The auth method's Host (default: the kubeconfig's server, which in a pod is the in-cluster address). */
  kubernetesHost?: string;
  bindingRuleSelector?: string;
  components?: readonly Component[];
  /** A management token to use instead of bootstrapping. */
  bootstrapToken?: string;
  /** How long to wait for the server and for the reviewer's token (default 5 min). */
  timeoutMs?: number;
  pollMs?: number;
}

export interface ServerAclInitResult {
  bootstrapped: boolean;
  authMethod: string;
  bindingRuleId: string;
  /** Component → accessor ID of its token. */
  tokens: Partial<Record<Component, string>>;
}

export async function runServerAclInit(options: ServerAclInitOptions): Promise<ServerAclInitResult> {
  const { consul, logger, resourcePrefix: prefix } = options;
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  const poll = options.pollMs ?? 1_000;
  const secrets = new TokenSecrets(options.kubeConfig, options.namespace, { 'app.kubernetes.io/instance': prefix, 'app.kubernetes.io/managed-by': 'meshgate-server-acl-init' });

  // The server may still be starting (a Job starts beside the StatefulSet): wait for a leader, as consul-k8s does.
  await until(deadline, poll, 'the server to answer', async () => Boolean(await consul.status.leader().catch(() => '')));

  const bootstrapSecret = `${prefix}-bootstrap-acl-token`;
  let bootstrapped = false;
  let token = options.bootstrapToken ?? (await secrets.token(bootstrapSecret));
  if (!token) {
    try {
      token = (await consul.acl.bootstrap()).SecretID;
    } catch (err) {
      if (isApiStatusError(err, 403)) {
        throw ErrServerAclInit(`the ACL system is already bootstrapped and no management token was given: pass one (--bootstrap-token-file) or restore the Secret ${bootstrapSecret}`);
      }
      throw err;
    }
    await secrets.writeToken(bootstrapSecret, token);
    bootstrapped = true;
    logger.info({ secret: bootstrapSecret }, 'bootstrapped the ACL system; the management token is in its Secret');
  }
  const write = { token };

  const authMethod = `${prefix}-k8s-auth-method`;
  const caCert = clusterCaPem(options.kubeConfig);
  if (!caCert) throw ErrServerAclInit('the Kubernetes API is not reached over verified TLS (no CA in the kubeconfig or the pod): the kubernetes auth method needs its CA');
  const reviewerSecret = options.authMethodTokenSecret ?? `${prefix}-auth-method`;
  const reviewerToken = await until(deadline, poll, `the reviewer token in Secret ${reviewerSecret}`, () => secrets.token(reviewerSecret));
  const methods = new AclAuthEndpoint(consul.transport);
  const method = {
    Name: authMethod, Type: 'kubernetes', Description: 'Kubernetes auth method (meshgate server-acl-init)',
    Config: { Host: options.kubernetesHost ?? options.kubeConfig.getCurrentCluster()!.server, CACert: caCert, ServiceAccountJWT: reviewerToken },
  };
  const existing = (await methods.authMethodRead(authMethod, write)).value;
  if (!existing) await methods.authMethodCreate(method, write);
  else if (JSON.stringify(existing.Config) !== JSON.stringify(method.Config) || existing.Description !== method.Description) await methods.authMethodUpdate(method, write);

  const rule = { AuthMethod: authMethod, BindType: 'service', BindName: '${serviceaccount.name}', Selector: options.bindingRuleSelector ?? '', Description: 'Kubernetes binding rule' };
  const rules = (await methods.bindingRuleList(authMethod, write)).value;
  const same = rules.find((r) => r.BindType === rule.BindType && r.BindName === rule.BindName);
  let bindingRuleId: string;
  if (!same) bindingRuleId = (await methods.bindingRuleCreate(rule, write)).ID!;
  else {
    bindingRuleId = same.ID!;
    if ((same.Selector ?? '') !== rule.Selector) await methods.bindingRuleUpdate({ ...rule, ID: bindingRuleId }, write);
  }

  const tokens: Partial<Record<Component, string>> = {};
  for (const component of options.components ?? COMPONENTS) tokens[component] = await componentToken(options, secrets, component, token);
  logger.info({ authMethod, components: Object.keys(tokens) }, 'ACLs ready for Kubernetes');
  return { bootstrapped, authMethod, bindingRuleId, tokens };
}

async function componentToken(options: ServerAclInitOptions, secrets: TokenSecrets, component: Component, management: string): Promise<string> {
  const { consul, resourcePrefix: prefix } = options;
  const write = { token: management };
  const policyName = `${prefix}-${component}`;
  const policy = (await consul.acl.policyReadByName(policyName, write)).value;
  if (!policy) await consul.acl.policyCreate({ Name: policyName, Description: `${component} token policy (meshgate server-acl-init)`, Rules: COMPONENT_RULES[component] }, write);
  else if (policy.Rules !== COMPONENT_RULES[component]) {
    await consul.acl.policyUpdate({ ID: policy.ID, Name: policyName, Description: policy.Description, Rules: COMPONENT_RULES[component] }, write);
  }

  const secretName = `${prefix}-${component}-acl-token`;
  const kept = await secrets.token(secretName);
  if (kept) {
    try {
      const self = await consul.acl.tokenReadSelf({ token: kept });
      if (self.value.Policies?.some((p) => p.Name === policyName)) return self.value.AccessorID;
    } catch (err) {
      if (!isApiStatusError(err, 403)) throw err; // 403 "ACL not found": the kept token is gone; make a new one
    }
  }
  const created = await consul.acl.tokenCreate({ Description: `${component} token (meshgate server-acl-init)`, Policies: [{ Name: policyName }] }, write);
  await secrets.writeToken(secretName, created.SecretID);
  options.logger.info({ component, secret: secretName }, 'component token written');
  return created.AccessorID;
}

/** Polls `probe` until it yields a value (a truthy one), or fails naming what it waited for. */
async function until<T>(deadline: number, pollMs: number, what: string, probe: () => Promise<T | undefined | false>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw ErrServerAclInit(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
