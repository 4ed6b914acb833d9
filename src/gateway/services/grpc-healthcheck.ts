/**
 * `healthCheck.mode: grpc` (Traefik's pkg/healthcheck checkHealthGRPC): grpc.health.v1.Health/Check with an empty
 * service name, on the server's host and port (or `healthCheck.port`), in plain text when `healthCheck.scheme` is
 * `http`, `h2c` or unset and over TLS otherwise; healthy only when the answer is SERVING. Each probe opens its own
 * channel and closes it, so a restarted server is seen at once and nothing is shared with the traffic pools.
 * grpc-js and the health proto are loaded with the first gRPC probe (about 14 MiB resident): most gateways have none.
 */
import type * as Grpc from '@grpc/grpc-js';
import type { HealthCheckResponse } from '../../lib/checks/probes/grpc-health.ts';
import { timeoutAfterPoll } from '../../lib/poll-timeout.ts';

export interface GrpcHealthTarget {
  /** `host:port` (IPv6 in brackets). */
  readonly address: string;
  readonly tls: boolean;
}

/** The probe's target for a server URL, as checkHealthGRPC derives it. */
export function grpcHealthTarget(serverUrl: string, config: { scheme?: string | undefined; port?: number | undefined }): GrpcHealthTarget {
  const url = new URL(serverUrl);
  const port = config.port !== undefined && config.port !== 0 ? String(config.port) : url.port;
  const scheme = config.scheme ?? '';
  return { address: `${url.hostname}:${port}`, tls: !['http', 'h2c', ''].includes(scheme) };
}

/** Resolves `undefined` when SERVING, else why not (Traefik's error texts). */
export async function checkGrpcHealth(target: GrpcHealthTarget, timeoutMs: number): Promise<string | undefined> {
  const [grpc, { GRPC_CODE_NAMES, HealthClient }] = await Promise.all([import('@grpc/grpc-js'), import('../../lib/checks/probes/grpc-health.ts')]);
  const credentials = target.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
  // A channel-owned subchannel closes with the channel; the shared pool would keep a socket alive.
  const client = new HealthClient(target.address, credentials, { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise<string | undefined>((resolve) => {
    // The deadline is ours rather than grpc-js's (a plain timer): judged after the loop has read what arrived
    // (lib/poll-timeout.ts), so a turn held up past it does not fail a server that answered in time.
    let timedOut = false;
    const timeout = timeoutAfterPoll(timeoutMs, () => {
      timedOut = true;
      call.cancel();
    });
    const call = client.Check({ service: '' }, (err: Grpc.ServiceError | null, res?: HealthCheckResponse) => {
      timeout.clear();
      if (err) {
        if (err.code === grpc.status.UNIMPLEMENTED) resolve(`gRPC server does not implement the health protocol: ${err.details}`);
        else if (timedOut || err.code === grpc.status.DEADLINE_EXCEEDED) resolve(`gRPC health check timeout: ${timedOut ? 'Deadline exceeded' : err.details}`);
        else resolve(`gRPC health check failed: code = ${GRPC_CODE_NAMES[err.code] ?? err.code} desc = ${err.details}`);
      } else if (res?.status !== 'SERVING') resolve(`received gRPC status code: ${res?.status ?? 'UNKNOWN'}`);
      else resolve(undefined);
    });
  }).finally(() => client.close());
}
