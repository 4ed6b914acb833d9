/**
 * Loads the OpenTelemetry SDK and exporters only when the static configuration has `tracing`: a gateway without it
 * never pays their start-up time or memory (each cluster worker would).
 */
import type { StaticConfig } from '../config/static.ts';
import type { GatewayTracer } from './tracer.ts';

export async function loadTracer(staticConfig: StaticConfig): Promise<GatewayTracer | undefined> {
  if (!staticConfig.tracing) return undefined;
  const { GatewayTracer: Tracer } = await import('./tracer.ts');
  return new Tracer(staticConfig.tracing);
}
