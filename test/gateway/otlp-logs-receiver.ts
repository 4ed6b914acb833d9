/**
 * OTLP log receivers for the OTLP logs tests, siblings of otlp-receiver.ts's trace receivers: OTLP/HTTP, which
 * @opentelemetry/exporter-logs-otlp-http speaks as JSON (POST /v1/logs), and OTLP/gRPC on @grpc/grpc-js with the
 * OTLP proto's logs messages (fixtures/otlp-logs.proto). Both turn what arrives into one flat record list, with
 * the request headers/metadata kept for assertions.
 */
import type { ServerOptions } from 'node:https';
import { anyValue, attributes, serveOtlpGrpc, serveOtlpHttp, type AnyValue } from './otlp-receiver.ts';

export interface ReceivedLog {
  /** OpenTelemetry severity number: 1 TRACE, 5 DEBUG, 9 INFO, 13 WARN, 17 ERROR, 21 FATAL. */
  severityNumber: number;
  severityText: string;
  body: unknown;
  attributes: Record<string, unknown>;
  /** Milliseconds since the epoch. */
  timeMs: number;
  resource: Record<string, unknown>;
  scope: string;
}

export interface LogReceiver {
  readonly logs: ReceivedLog[];
  /** Headers (HTTP) or metadata (gRPC) of each export request, and the path an HTTP export was posted to. */
  readonly requests: Array<Record<string, unknown>>;
  /** HTTP: the base URL (`http://127.0.0.1:port`); gRPC: host:port. */
  readonly endpoint: string;
  close(): Promise<void>;
}

type KeyValues = Array<{ key: string; value: AnyValue }>;
/** One record as JSON or as proto-loader (longs as strings) hands it over. */
interface RawLog { severityNumber?: number; severityText?: string; body?: AnyValue; attributes?: KeyValues; timeUnixNano?: string | number }
interface ScopeLogs { scope?: { name?: string }; logRecords?: RawLog[] }
interface Request { resourceLogs?: Array<{ resource?: { attributes?: KeyValues }; scopeLogs?: ScopeLogs[] }> }

function collect(request: Request, into: ReceivedLog[]): void {
  for (const rl of request.resourceLogs ?? []) {
    const resource = attributes(rl.resource?.attributes);
    for (const sl of rl.scopeLogs ?? []) {
      for (const r of sl.logRecords ?? []) {
        into.push({
          severityNumber: Number(r.severityNumber ?? 0),
          severityText: r.severityText ?? '',
          body: anyValue(r.body),
          attributes: attributes(r.attributes),
          // JSON carries time_unix_nano as a decimal string; protobuf (longs: String) too.
          timeMs: Number(BigInt(String(r.timeUnixNano ?? '0')) / 1_000_000n),
          resource,
          scope: sl.scope?.name ?? '',
        });
      }
    }
  }
}

/** OTLP/HTTP(S) with JSON bodies on 127.0.0.1, port 0; takes a POST to any path (each request records its `:path`). */
export async function startHttpLogReceiver(tls?: ServerOptions): Promise<LogReceiver> {
  const logs: ReceivedLog[] = [];
  const requests: Array<Record<string, unknown>> = [];
  const server = await serveOtlpHttp(() => true, (body, headers) => {
    requests.push(headers);
    collect(body as Request, logs);
  }, tls);
  return { logs, requests, endpoint: server.base, close: server.close };
}

/** OTLP/gRPC without TLS on 127.0.0.1, port 0; `endpoint` is host:port. */
export async function startGrpcLogReceiver(): Promise<LogReceiver> {
  const logs: ReceivedLog[] = [];
  const requests: Array<Record<string, unknown>> = [];
  const server = await serveOtlpGrpc<Request>('otlp-logs.proto', 'opentelemetry.proto.collector.logs.v1.LogsService', (request, metadata) => {
    requests.push(metadata);
    collect(request, logs);
  });
  return { logs, requests, endpoint: server.endpoint, close: server.close };
}
