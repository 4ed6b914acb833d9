/**
 * Consul's TCP check: a connection that opens is passing (`TCP connect <addr>: Success`); a refused, unreachable
 * or timed-out connect is critical with Go's dial error text.
 */
import { connect } from 'node:net';
import { dialErrorText } from '../output.ts';
import type { CheckDefinition, ProbeResult } from '../types.ts';
import { registerProbe, type Probe, type ProbeContext } from './probe.ts';
import { splitHostPort } from '../output.ts';

export class TcpProbe implements Probe {
  readonly #address: string;
  readonly #timeout: number;

  constructor(def: CheckDefinition, ctx: ProbeContext) {
    this.#address = def.TCP!;
    this.#timeout = ctx.timeout;
  }

  run(signal: AbortSignal): Promise<ProbeResult> {
    const address = this.#address;
    const hp = splitHostPort(address);
    if (!hp) return Promise.resolve({ status: 'critical', output: `dial tcp ${address}: address ${address}: missing port in address` });
    return new Promise((resolve) => {
      const socket = connect({ host: hp.host, port: hp.port });
      const finish = (result: ProbeResult): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve(result);
      };
      const onAbort = (): void => finish({ status: 'critical', output: `dial tcp ${address}: operation was canceled` });
      const timer = setTimeout(() => finish({ status: 'critical', output: `dial tcp ${address}: i/o timeout` }), this.#timeout);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => finish({ status: 'passing', output: `TCP connect ${address}: Success` }));
      socket.once('error', (err) => finish({ status: 'critical', output: dialErrorText(address, err) }));
    });
  }

  async close(): Promise<void> {}
}

registerProbe('tcp', (def, ctx) => new TcpProbe(def, ctx), 10_000);
