/**
 * Log records as Traefik emits them over OTLP. The gateway's own log: Traefik's zerolog hook (pkg/observability/logs
 * otel.go) — the message as the body, the level as the severity (panic is FATAL4), every other field of the line
 * as an attribute and its `time` as the timestamp — read from the JSON line pino writes, as Traefik's hook reads
 * zerolog's buffer. Access logs: Traefik's logrus hook on the access logger — one record per logged request,
 * severity INFO, an empty body (the access logger writes no message) and the fields of the JSON access log, after
 * `fields` and `filters`, as attributes. Both use Traefik's instrumentation scope name, `traefik`.
 */
import type { AnyValue, Attributes, Logger } from '@opentelemetry/api';
import type { LoggerProvider } from '@opentelemetry/sdk-logs';

const SCOPE = 'traefik';

/** OpenTelemetry severity numbers of Traefik's levels (otelLogSeverity): TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21. */
const SEVERITY: Record<string, number> = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21, panic: 24 };

/** Fields of a line that are not attributes: the level is the severity, the message the body. */
const OWN = new Set(['level', 'message', 'msg']);

function attributeValue(value: unknown): AnyValue {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  // Traefik formats any other value with %v; JSON is the readable equivalent for objects and arrays.
  return JSON.stringify(value);
}

/** The gateway log's OTLP destination: `write` takes each JSON line pino produces. */
export class OtlpLogHook {
  readonly #logger: Logger;

  constructor(provider: LoggerProvider) {
    this.#logger = provider.getLogger(SCOPE);
  }

  write(json: string): void {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(json) as Record<string, unknown>;
    } catch (err) {
      // Traefik's hook sends the record anyway with the parse error as an attribute.
      this.#logger.emit({ body: json, attributes: { parsing_error: `parsing log fields: ${(err as Error).message}` } });
      return;
    }
    const attributes: Attributes = {};
    let timestamp: number | undefined;
    for (const key in entry) {
      if (OWN.has(key)) continue;
      if (key === 'time' && typeof entry.time === 'string') {
        const ms = Date.parse(entry.time);
        if (!Number.isNaN(ms)) {
          timestamp = ms;
          continue;
        }
      }
      attributes[key] = attributeValue(entry[key]) as Attributes[string];
    }
    const message = entry.message ?? entry.msg;
    this.#logger.emit({
      timestamp: timestamp ?? Date.now(),
      severityNumber: SEVERITY[String(entry.level)] ?? 0,
      body: typeof message === 'string' ? message : '',
      attributes,
    });
  }
}

/** The access log's OTLP destination: `emit` takes the fields of one JSON access log line. */
export class OtlpAccessLogSink {
  readonly #logger: Logger;

  constructor(provider: LoggerProvider) {
    this.#logger = provider.getLogger(SCOPE);
  }

  emit(fields: Record<string, unknown>): void {
    const attributes: Attributes = {};
    for (const key in fields) attributes[key] = attributeValue(fields[key]) as Attributes[string];
    // logrus's level name is the severity text its OpenTelemetry bridge sets.
    this.#logger.emit({ timestamp: Date.now(), severityNumber: SEVERITY.info, severityText: 'info', body: '', attributes });
  }
}
