/**
 * Loads the OpenTelemetry logs SDK and exporters only when the static configuration has `log.otlp` or
 * `accessLog.otlp` (validated with `experimental.otlpLogs` by the static configuration): a gateway without them
 * never pays their start-up time or memory, in the primary or in any cluster worker.
 */
import type { StaticConfig } from '../config/static.ts';

export interface OtlpLogs {
  /** The gateway log's extra destination (`log.otlp`): each JSON line pino writes. */
  log?: { write(json: string): void };
  /** The access log's destination (`accessLog.otlp`): the fields of each logged request. */
  accessLog?: { emit(fields: Record<string, unknown>): void };
  /** Exports what is still batched, then stops the exporters (gateway close). */
  shutdown(): Promise<void>;
}

/** `parts.accessLog: false`: a cluster primary, which serves no request, builds no access log exporter. */
export async function loadOtlpLogs(staticConfig: StaticConfig, parts: { accessLog?: boolean } = {}): Promise<OtlpLogs | undefined> {
  const logOtlp = staticConfig.log?.otlp;
  const accessOtlp = parts.accessLog === false ? undefined : staticConfig.accessLog?.otlp;
  if (logOtlp === undefined && accessOtlp === undefined) return undefined;
  const [{ createLoggerProvider }, { OtlpAccessLogSink, OtlpLogHook }] = await Promise.all([import('./provider.ts'), import('./records.ts')]);
  const logProvider = logOtlp ? await createLoggerProvider(logOtlp, 'log.otlp') : undefined;
  const accessProvider = accessOtlp ? await createLoggerProvider(accessOtlp, 'accessLog.otlp') : undefined;
  return {
    ...(logProvider ? { log: new OtlpLogHook(logProvider) } : {}),
    ...(accessProvider ? { accessLog: new OtlpAccessLogSink(accessProvider) } : {}),
    async shutdown() {
      await Promise.all([logProvider?.shutdown(), accessProvider?.shutdown()]);
    },
  };
}
