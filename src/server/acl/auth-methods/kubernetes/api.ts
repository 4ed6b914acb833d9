/**
 * The two Kubernetes API calls the `kubernetes` auth method makes, over node:https with the method's CACert as the
 * only trusted root and its ServiceAccountJWT as the bearer (src/server does not import @kubernetes/client-node: the
 * client belongs to src/kubernetes, on the other side of the HTTP API line). One connection per call, closed after it.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubernetesConfig } from './config.ts';

const TIMEOUT_MS = 10_000;
const MAX_BODY_BYTES = 1 << 20;

export interface KubeAnswer {
  status: number;
  /** The parsed JSON body (a Status object on errors), or undefined when it was not JSON. */
  body: any;
}

export function kubeRequest(config: KubernetesConfig, method: 'GET' | 'POST', path: string, body?: unknown): Promise<KubeAnswer> {
  const target = new URL(path, config.baseUrl);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const options = {
    method,
    timeout: TIMEOUT_MS,
    agent: false as const,
    ca: config.caCert,
    headers: {
      accept: 'application/json',
      authorization: `Bearer ${config.serviceAccountJwt}`,
      ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
    },
  };
  return new Promise((resolve, reject) => {
    const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`${method} ${target.pathname}: answer larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${target.pathname}: no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
