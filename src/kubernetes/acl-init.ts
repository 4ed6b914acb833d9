/**
 * `meshgate k8s acl-init`, the injected init container's first step (consul-k8s's connect-init login,
 * subcommand/connect-init and common.ConsulLogin): read the pod's service-account token, log in with the named auth
 * method (`/v1/acl/login`, Meta `pod=<namespace>/<name>`), write the ACL token's SecretID to a file only its owner
 * may read (0600, written atomically), then wait until the endpoints controller has registered the pod's
 * connect-proxy on its node and write that ID for the sidecar. While the server cannot be reached or answers 5xx it
 * retries; a refusal (4xx) is final — the container fails and Kubernetes restarts it.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AclAuthEndpoint } from '../api/acl-auth.ts';
import type { ConsulClient } from '../api/client.ts';
import { isApiStatusError } from '../api/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { ErrAclInitBearerToken, ErrAclInitLogin } from './inject/errors.ts';

export interface AclInitOptions {
  /** A client that carries no token: the server refuses a login that sends one. */
  consul: ConsulClient;
  logger: Logger;
  authMethod?: string;
  bearerTokenFile?: string;
  tokenSinkFile?: string;
  meta?: Record<string, string>;
  /** Where to write the proxy's service ID; with podName, podNamespace and nodeName. */
  proxyIdFile?: string;
  podName?: string;
  podNamespace?: string;
  nodeName?: string;
  retryIntervalMs?: number;
  signal?: AbortSignal;
}

export interface AclInitResult {
  /** The SecretID written to tokenSinkFile; never logged. */
  secretId?: string;
  accessorId?: string;
  proxyId?: string;
}

export async function aclInit(options: AclInitOptions): Promise<AclInitResult> {
  const result: AclInitResult = {};
  if (options.authMethod) {
    const bearer = readBearerToken(options.bearerTokenFile);
    const token = await retrying(options, 'login', () => new AclAuthEndpoint(options.consul.transport).login({
      AuthMethod: options.authMethod!, BearerToken: bearer, ...(options.meta && Object.keys(options.meta).length ? { Meta: options.meta } : {}),
    }), (err) => (isApiStatusError(err) && err.statusCode < 500 ? ErrAclInitLogin(options.authMethod!, err.body.trim() || err.message) : undefined));
    result.secretId = token.SecretID;
    result.accessorId = token.AccessorID;
    if (options.tokenSinkFile) writePrivate(options.tokenSinkFile, token.SecretID);
    options.logger.info({ authMethod: options.authMethod, accessorId: token.AccessorID }, 'logged in');
  }
  if (options.proxyIdFile && options.podName && options.podNamespace && options.nodeName) {
    const filter = `Kind == "connect-proxy" and Meta["pod-name"] == ${JSON.stringify(options.podName)} and Meta["k8s-namespace"] == ${JSON.stringify(options.podNamespace)}`;
    const client = options.consul;
    const token = result.secretId;
    const proxyId = await retrying(options, 'proxy registration', async () => {
      const list = (await client.catalog.nodeServices(options.nodeName!, { filter, ...(token ? { token } : {}) })).value;
      const found = list?.Services?.[0]?.ID;
      if (!found) throw new Error(`no connect-proxy registered for pod ${options.podNamespace}/${options.podName} on node ${options.nodeName} yet`);
      return found;
    }, () => undefined);
    writePrivate(options.proxyIdFile, proxyId);
    result.proxyId = proxyId;
    options.logger.info({ proxyId }, 'found the proxy registration');
  }
  return result;
}

function readBearerToken(path: string | undefined): string {
  if (!path) throw ErrAclInitBearerToken('(none)', 'no bearer token file given');
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw ErrAclInitBearerToken(path, (err as Error).message);
  }
  if (text === '') throw ErrAclInitBearerToken(path, 'the file is empty');
  return text;
}

/** Write-then-rename, mode 0600 even under a permissive umask, so no reader ever sees a partial token. */
function writePrivate(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** Calls `attempt` until it succeeds; `final` turns an error into one that ends the retries. */
async function retrying<T>(options: AclInitOptions, what: string, attempt: () => Promise<T>, final: (err: unknown) => Error | undefined): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      const stop = final(err);
      if (stop) throw stop;
      if (options.signal?.aborted) throw err;
      options.logger.warn({ err: (err as Error).message, tries }, `${what} not done yet; retrying`);
      await sleep(options.retryIntervalMs ?? 1000, undefined, options.signal ? { signal: options.signal } : {});
    }
  }
}
