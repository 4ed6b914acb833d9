/**
 * Consul's gRPC check: `host:port[/service]` asks grpc.health.v1.Health/Check for `service` (empty = the whole
 * server). SERVING → passing (`gRPC check <target>: success`); any other status → critical
 * (`gRPC <target> serving status: NOT_SERVING`); a call error → critical with Go's `rpc error: …` text.
 * Each run dials a fresh channel and closes it, as Consul does, so a restarted server is seen at once.
 */
import * as grpc from '@grpc/grpc-js';
import type { CheckDefinition, ProbeResult } from '../types.ts';
import { GRPC_CODE_NAMES, HealthClient, type HealthCheckResponse } from './grpc-health.ts';
import { registerProbe, type Probe, type ProbeContext } from './probe.ts';

export class GrpcProbe implements Probe {
  readonly #target: string;
  readonly #server: string;
  readonly #service: string;
  readonly #timeout: number;
  readonly #credentials: grpc.ChannelCredentials;
  readonly #options: grpc.ClientOptions;

  constructor(def: CheckDefinition, ctx: ProbeContext) {
    this.#target = def.GRPC!;
    const slash = this.#target.indexOf('/');
    this.#server = slash < 0 ? this.#target : this.#target.slice(0, slash);
    this.#service = slash < 0 ? '' : this.#target.slice(slash + 1);
    this.#timeout = ctx.timeout;
    this.#credentials = def.GRPCUseTLS
      ? grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: def.TLSSkipVerify !== true })
      : grpc.credentials.createInsecure();
    this.#options = {
      // A channel-owned subchannel closes with the channel; the shared pool would keep a socket (and the process) alive.
      'grpc.use_local_subchannel_pool': 1,
      ...(def.GRPCUseTLS && def.TLSServerName
        ? { 'grpc.ssl_target_name_override': def.TLSServerName, 'grpc.default_authority': def.TLSServerName }
        : {}),
    };
  }

  run(signal: AbortSignal): Promise<ProbeResult> {
    const client = new HealthClient(this.#server, this.#credentials, this.#options);
    return new Promise<ProbeResult>((resolve) => {
      const call = client.Check(
        { service: this.#service },
        { deadline: Date.now() + this.#timeout },
        (err: grpc.ServiceError | null, res?: HealthCheckResponse) => {
          signal.removeEventListener('abort', onAbort);
          if (err) {
            resolve({ status: 'critical', output: `rpc error: code = ${GRPC_CODE_NAMES[err.code] ?? err.code} desc = ${err.details}` });
          } else if (res?.status !== 'SERVING') {
            resolve({ status: 'critical', output: `gRPC ${this.#target} serving status: ${res?.status ?? 'UNKNOWN'}` });
          } else {
            resolve({ status: 'passing', output: `gRPC check ${this.#target}: success` });
          }
        },
      ) as grpc.ClientUnaryCall;
      const onAbort = (): void => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    }).finally(() => client.close());
  }

  async close(): Promise<void> {}
}

registerProbe('grpc', (def, ctx) => new GrpcProbe(def, ctx), 10_000);
