/**
 * Listeners on 127.0.0.1 for the push metrics backends, shared by the metrics tests: a UDP socket for StatsD and
 * DogStatsD lines, an HTTP server answering InfluxDB 2's /api/v2/write, an OTLP/HTTP (JSON) receiver; and readers
 * of what they got.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface UdpListener { port: number; lines: string[]; close(): void }
export async function udpListener(): Promise<UdpListener> {
  const socket: Socket = createSocket('udp4');
  const lines: string[] = [];
  socket.on('message', (msg) => lines.push(...msg.toString('utf8').split('\n').filter((l) => l !== '')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, lines, close: () => socket.close() };
}

export interface StatsdLine { name: string; value: number; type: string; tags: Record<string, string> | undefined }
export function parseStatsd(line: string): StatsdLine {
  const m = /^([^:]+):([^|]+)\|([a-z]+)(?:\|@[\d.]+)?(?:\|#(.*))?$/.exec(line);
  assert.ok(m, `not a StatsD line: ${line}`);
  const tags = m[4] === undefined ? undefined : Object.fromEntries(m[4].split(',').map((t) => [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)]));
  return { name: m[1]!, value: Number(m[2]), type: m[3]!, tags };
}
export const named = (lines: string[], name: string) => lines.map(parseStatsd).filter((l) => l.name === name);
export const total = (ls: StatsdLine[]) => ls.reduce((a, l) => a + l.value, 0);

export interface Write { url: URL; headers: IncomingHttpHeaders; lines: string[] }
export async function influxServer() {
  const writes: Write[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // The client gzips bodies past 1000 bytes (content-encoding: gzip), as InfluxDB accepts.
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(Buffer.concat(chunks)) : Buffer.concat(chunks);
      writes.push({ url: new URL(req.url!, 'http://x'), headers: req.headers, lines: body.toString('utf8').split('\n').filter((l) => l !== '') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { writes, address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** One line-protocol line (no escapes in these names/values) → measurement, tags, fields. */
export function parseLine(line: string): { measurement: string; tags: Record<string, string>; fields: Record<string, number> } {
  const [head, fieldText] = line.split(' ');
  const [measurement, ...tagParts] = head!.split(',');
  return {
    measurement: measurement!,
    tags: Object.fromEntries(tagParts.map((t) => t.split('=') as [string, string])),
    fields: Object.fromEntries(fieldText!.split(',').map((f) => {
      const [k, v] = f.split('=');
      return [k!, Number(v)];
    })),
  };
}

export interface OtlpMetric { name: string; unit?: string; sum?: { dataPoints: DataPoint[] }; histogram?: { dataPoints: DataPoint[] }; gauge?: { dataPoints: DataPoint[] } }
export interface DataPoint {
  attributes?: Array<{ key: string; value: { stringValue?: string } }>;
  asDouble?: number;
  asInt?: number | string;
  count?: number | string;
  explicitBounds?: number[];
}
export const attrs = (p: DataPoint) => Object.fromEntries((p.attributes ?? []).map((a) => [a.key, a.value.stringValue]));

/** An OTLP/HTTP JSON receiver on 127.0.0.1: each export's path, headers and body, and its resources' attributes. */
export async function otlpJsonReceiver() {
  const bodies: Array<{ url: string; headers: IncomingHttpHeaders; body: any }> = [];
  const resources: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceMetrics: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> } }> };
      bodies.push({ url: req.url!, headers: req.headers, body });
      for (const rm of body.resourceMetrics) resources.push(Object.fromEntries(rm.resource.attributes.map((a) => [a.key, a.value.stringValue])));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    bodies,
    resources,
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
