/**
 * The connect injector's HTTPS mutating admission webhook (AdmissionReview admission.k8s.io/v1). It answers every
 * review with 200 and `allowed: true`: a pod to inject gets a JSONPatch, anything else — a pod that needs nothing, a
 * bad annotation, an object that is not a pod, a body that is not a review — gets no patch and a reason, which is
 * also logged. Unlike consul-k8s, which answers some of these with errors, it never blocks a pod's creation: a
 * webhook failure would otherwise stop every pod in the cluster under failurePolicy Fail. `GET /health/ready` says
 * the listener is up. Every replica serves; nothing here needs a leader.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { readBodyLimited } from '../../lib/http/body.ts';
import type { Logger } from '../../lib/logger.ts';
import type { InjectorConfig } from './config.ts';
import { decideInjection, type PodLike } from './mutate.ts';

export interface WebhookOptions {
  config: InjectorConfig;
  kubeConfig: KubeConfig;
  logger: Logger;
  tls: { cert: string; key: string };
  host?: string;
  port?: number;
  /** The path the webhook configuration names (consul-k8s's `/mutate`). */
  path?: string;
}

export interface RunningWebhook {
  readonly url: string;
  readonly server: Server;
  /** Replaces the serving certificate (a rotated one) for new connections. */
  setCertificate(tls: { cert: string; key: string }): void;
  close(): Promise<void>;
}

/** The API server sends at most its request size limit (3 MiB) plus the review's envelope. */
const MAX_REVIEW_BYTES = 4 * 1024 * 1024;

interface AdmissionRequest {
  uid?: unknown;
  kind?: { group?: string; version?: string; kind?: string };
  resource?: { group?: string; version?: string; resource?: string };
  operation?: string;
  namespace?: string;
  object?: unknown;
}

export async function startWebhook(options: WebhookOptions): Promise<RunningWebhook> {
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const path = options.path ?? '/mutate';
  const { logger } = options;

  async function namespaceLabels(name: string): Promise<Record<string, string>> {
    try {
      const ns = await core.readNamespace({ name });
      return ns.metadata?.labels ?? {};
    } catch (err) {
      // The namespace's transparent-proxy label is a default only; without it the pod's annotations and the global
      // default still decide.
      logger.warn({ err, namespace: name }, 'could not read the namespace; its labels are not applied');
      return {};
    }
  }

  async function review(body: Buffer): Promise<{ uid: string; allowed: true; reason: string; patch?: unknown[] }> {
    let parsed: { apiVersion?: unknown; kind?: unknown; request?: AdmissionRequest };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      return { uid: '', allowed: true, reason: 'the request body is not JSON' };
    }
    const request = parsed && typeof parsed === 'object' ? parsed.request : undefined;
    const uid = typeof request?.uid === 'string' ? request.uid : '';
    if (parsed.kind !== 'AdmissionReview' || parsed.apiVersion !== 'admission.k8s.io/v1' || !request || typeof request !== 'object') {
      return { uid, allowed: true, reason: 'the request is not an admission.k8s.io/v1 AdmissionReview' };
    }
    if (request.kind?.kind !== 'Pod' || (request.kind.group ?? '') !== '') return { uid, allowed: true, reason: `${request.kind?.kind ?? 'the object'} is not a Pod` };
    if (request.operation !== 'CREATE') return { uid, allowed: true, reason: `operation ${String(request.operation)} is not CREATE` };
    const pod = request.object as PodLike | undefined;
    if (!pod || typeof pod !== 'object' || Array.isArray(pod) || (pod.metadata !== undefined && typeof pod.metadata !== 'object')) {
      return { uid, allowed: true, reason: 'request.object is not a Pod object' };
    }
    const namespace = request.namespace || pod.metadata?.namespace || 'default';
    const decision = decideInjection(pod, namespace, await namespaceLabels(namespace), options.config);
    return decision.inject ? { uid, allowed: true, reason: decision.reason, patch: decision.patch } : { uid, allowed: true, reason: decision.reason };
  }

  const server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://webhook');
    if (req.method === 'GET' && url.pathname === '/health/ready') {
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'POST' || url.pathname !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    void (async () => {
      const { body, overflow } = await readBodyLimited(req, MAX_REVIEW_BYTES);
      const answer = overflow ? { uid: '', allowed: true as const, reason: 'the review is larger than the webhook reads' } : await review(body);
      const response: Record<string, unknown> = { uid: answer.uid, allowed: true, status: { code: 200, message: answer.reason } };
      if (answer.patch) {
        response['patchType'] = 'JSONPatch';
        response['patch'] = Buffer.from(JSON.stringify(answer.patch)).toString('base64');
        logger.info({ reason: answer.reason }, 'injected pod');
      } else logger.info({ reason: answer.reason }, 'admitted without injection');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    })().catch((err: unknown) => {
      // Still an answer the API server can use: allowed, with the reason, never a 500.
      logger.error({ err }, 'admission review failed; admitting without injection');
      if (!res.headersSent) {
        const response = { uid: '', allowed: true, status: { code: 200, message: `injection failed: ${(err as Error).message}` } };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `https://${host}:${address.port}${path}`,
    server,
    setCertificate(tls) {
      server.setSecureContext({ cert: tls.cert, key: tls.key });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
