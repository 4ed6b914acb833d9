/**
 * The agent's local HTTP API (Consul's agent/agent_endpoint.go for a client agent): `/v1/agent/*` answered from the
 * local state — self, members, services, checks, service/check (de)registration, TTL updates, maintenance, local
 * service health, reload — and every other `/v1/*` path forwarded to a server (forward.ts). Errors are answered
 * as Consul does: a status and a plain-text message. Request bodies are JSON (at most 1 MiB) in the API's
 * PascalCase; Consul's snake_case spelling is accepted too.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isCheckStatus, type CheckStatus } from '../lib/checks/index.ts';
import { Errors, isMeshgateError } from '../lib/errors.ts';
import { readBodyLimited } from '../lib/http/body.ts';
import type { Logger } from '../lib/logger.ts';
import type { AgentCheckRegistration, AgentServiceRegistration } from '../api/types.ts';
import type { Agent } from './agent.ts';
import { toApiShape } from './definition-shape.ts';
import { AgentErrors } from './errors.ts';
import { forwardToServer } from './forward.ts';
import type { CheckState, ServiceState } from './local-state.ts';

const MAX_BODY_BYTES = 1024 * 1024;
/** Consul's CheckBufSize: TTL output beyond it is cut with a note. */
const CHECK_BUF_SIZE = 4 * 1024;
export const AGENT_VERSION = '1.21.0';

interface Ctx {
  req: IncomingMessage;
  url: URL;
  params: string[];
  token: string;
  body: () => Promise<unknown>;
}
type Reply = { status?: number; body?: unknown; text?: string };
type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

export interface AgentHttpServer {
  server: Server;
  /** `127.0.0.1:<port>` as bound. */
  address: string;
  close(): Promise<void>;
}

export async function startAgentHttp(agent: Agent, httpAddr: string, logger: Logger): Promise<AgentHttpServer> {
  const log = logger.child({ component: 'agent-http' });
  const routes = agentRoutes(agent);
  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'agent API request failed');
      if (!res.headersSent) writeText(res, 500, 'Internal error');
      else res.destroy();
    });
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://agent');
    const path = url.pathname;
    if (!path.startsWith('/v1/agent/')) {
      forwardToServer(req, res, agent.servers, agent.config.aclTokens.default ?? '', log);
      return;
    }
    const match = findRoute(routes, req.method ?? 'GET', path);
    if (match === 'method') return writeText(res, 405, `method ${req.method} not allowed`);
    if (!match) {
      // Agent paths this agent does not answer (metrics, connect leaf/roots, monitor…) are the server's to answer.
      forwardToServer(req, res, agent.servers, agent.config.aclTokens.default ?? '', log);
      return;
    }
    const ctx: Ctx = {
      req, url, params: match.params, token: tokenOf(req, url),
      body: async () => {
        const { body, overflow } = await readBodyLimited(req, MAX_BODY_BYTES);
        if (overflow) throw Errors.payloadTooLarge(`Request body too large: more than ${MAX_BODY_BYTES} bytes`);
        if (body.length === 0) return {};
        try {
          return JSON.parse(body.toString('utf8'));
        } catch (err) {
          throw Errors.badRequest(`Request decode failed: ${(err as Error).message}`);
        }
      },
    };
    let reply: Reply;
    try {
      reply = await match.handler(ctx);
    } catch (err) {
      if (isMeshgateError(err)) return writeText(res, err.statusCode, err.message);
      throw err;
    }
    if (reply.text !== undefined) return writeText(res, reply.status ?? 200, reply.text);
    const json = reply.body === undefined ? '' : JSON.stringify(reply.body);
    res.writeHead(reply.status ?? 200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
    res.end(json);
  };
  const [host, port] = splitHostPort(httpAddr);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    server,
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function agentRoutes(agent: Agent): Array<{ method: string; pattern: RegExp; handler: Handler }> {
  const dc = () => agent.identity.datacenter;
  const r: Array<{ method: string; pattern: RegExp; handler: Handler }> = [];
  const add = (method: string, path: string, handler: Handler) => {
    // `:id` takes the rest of the path: service and check IDs may contain slashes.
    const pattern = new RegExp(`^${path.replace(/\//g, '\\/').replace(/:[a-z]+/g, '(.+)')}$`);
    r.push({ method, pattern, handler });
  };

  add('GET', '/v1/agent/self', () => ({ body: self(agent) }));
  add('GET', '/v1/agent/members', () => ({ body: [member(agent)] }));
  add('PUT', '/v1/agent/reload', async () => {
    await agent.reload();
    return {};
  });
  add('GET', '/v1/agent/services', () => {
    const out = Object.create(null) as Record<string, unknown>;
    for (const s of agent.state.services()) out[s.service.ID] = serviceWire(s, dc());
    return { body: out };
  });
  add('GET', '/v1/agent/service/:id', (ctx) => {
    const s = agent.state.service(ctx.params[0]!);
    if (!s) throw AgentErrors.unknownService(ctx.params[0]!);
    return { body: serviceWire(s, dc()) };
  });
  add('PUT', '/v1/agent/service/register', async (ctx) => {
    const body = toApiShape(await ctx.body()) as AgentServiceRegistration & { Token?: string };
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Errors.badRequest('Request decode failed: expected an object');
    const replace = flag(ctx.url, 'replace-existing-checks');
    const { Token: bodyToken, ...reg } = body;
    await agent.registerService(reg, ctx.token || bodyToken || '', replace);
    return {};
  });
  add('PUT', '/v1/agent/service/deregister/:id', async (ctx) => {
    await agent.deregisterService(ctx.params[0]!);
    return {};
  });
  add('PUT', '/v1/agent/service/maintenance/:id', (ctx) => {
    const { enable, reason } = maintenanceParams(ctx.url);
    agent.serviceMaintenance(ctx.params[0]!, enable, reason);
    return {};
  });
  add('PUT', '/v1/agent/maintenance', (ctx) => {
    const { enable, reason } = maintenanceParams(ctx.url);
    agent.nodeMaintenance(enable, reason);
    return {};
  });
  add('GET', '/v1/agent/checks', () => {
    const out = Object.create(null) as Record<string, unknown>;
    for (const c of agent.state.checks()) out[c.check.CheckID] = checkWire(c);
    return { body: out };
  });
  add('PUT', '/v1/agent/check/register', async (ctx) => {
    const body = toApiShape(await ctx.body()) as AgentCheckRegistration & { Token?: string };
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Errors.badRequest('Request decode failed: expected an object');
    const { Token: bodyToken, ...reg } = body;
    await agent.registerCheck(reg, ctx.token || bodyToken || '');
    return {};
  });
  add('PUT', '/v1/agent/check/deregister/:id', async (ctx) => {
    await agent.deregisterCheck(ctx.params[0]!);
    return {};
  });
  const ttl = (status: CheckStatus): Handler => (ctx) => {
    agent.updateTTL(ctx.params[0]!, status, truncate(ctx.url.searchParams.get('note') ?? ''));
    return {};
  };
  add('PUT', '/v1/agent/check/pass/:id', ttl('passing'));
  add('PUT', '/v1/agent/check/warn/:id', ttl('warning'));
  add('PUT', '/v1/agent/check/fail/:id', ttl('critical'));
  add('PUT', '/v1/agent/check/update/:id', async (ctx) => {
    const body = toApiShape(await ctx.body()) as { Status?: unknown; Output?: unknown };
    const status = body.Status ?? '';
    if (!isCheckStatus(status)) throw Errors.badRequest(`Invalid check status: '${typeof status === 'string' ? status : JSON.stringify(status)}'`);
    agent.updateTTL(ctx.params[0]!, status, truncate(typeof body.Output === 'string' ? body.Output : ''));
    return {};
  });
  add('GET', '/v1/agent/health/service/id/:id', (ctx) => {
    const s = agent.state.service(ctx.params[0]!);
    const text = ctx.url.searchParams.get('format') === 'text';
    if (!s) return text ? { status: 404, text: `ServiceId ${ctx.params[0]} not found` } : { status: 404, body: { AggregatedStatus: 'critical', Service: null, Checks: null } };
    const info = serviceHealth(agent, s);
    return text ? { status: healthStatusCode(info.AggregatedStatus), text: info.AggregatedStatus } : { status: healthStatusCode(info.AggregatedStatus), body: info };
  });
  add('GET', '/v1/agent/health/service/name/:name', (ctx) => {
    const name = ctx.params[0]!;
    const text = ctx.url.searchParams.get('format') === 'text';
    const rows = agent.state.services().filter((s) => s.service.Service === name);
    if (rows.length === 0) return text ? { status: 404, text: `ServiceName ${name} Not Found` } : { status: 404, body: [] };
    const infos = rows.map((s) => serviceHealth(agent, s));
    const worst = Math.max(...infos.map((i) => healthStatusCode(i.AggregatedStatus)));
    const worstStatus = infos.find((i) => healthStatusCode(i.AggregatedStatus) === worst)!.AggregatedStatus;
    return text ? { status: worst, text: worstStatus } : { status: worst, body: infos };
  });
  return r;
}

function findRoute(routes: ReturnType<typeof agentRoutes>, method: string, path: string): { handler: Handler; params: string[] } | 'method' | undefined {
  let pathMatched = false;
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    pathMatched = true;
    // Consul's agent accepts POST where it documents PUT for its write endpoints.
    if (route.method === method || (route.method === 'PUT' && method === 'POST')) return { handler: route.handler, params: m.slice(1).map(decodeURIComponent) };
  }
  return pathMatched ? 'method' : undefined;
}

function self(agent: Agent): Record<string, unknown> {
  const id = agent.identity;
  return {
    Config: { Datacenter: id.datacenter, PrimaryDatacenter: id.datacenter, NodeName: id.node, NodeID: id.nodeId, Revision: '', Server: false, Version: AGENT_VERSION },
    DebugConfig: { Datacenter: id.datacenter, NodeName: id.node, NodeID: id.nodeId, ServerMode: false, Version: AGENT_VERSION, AdvertiseAddrLAN: id.address },
    Coord: null,
    Member: member(agent),
    Meta: id.meta,
    Stats: {
      agent: {
        checks: String(agent.state.checks().length), services: String(agent.state.services().length),
        anti_entropy_full_syncs: String(agent.antiEntropy.fullSyncs), server: agent.servers.address(),
      },
      consul: { server: 'false' },
    },
  };
}

function member(agent: Agent): Record<string, unknown> {
  const id = agent.identity;
  return {
    Name: id.node, Addr: id.address, Port: 8301,
    Tags: { role: 'node', dc: id.datacenter, id: id.nodeId, build: AGENT_VERSION, vsn: '2', vsn_min: '2', vsn_max: '3', segment: '' },
    Status: 1, ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
  };
}

function serviceWire(s: ServiceState, datacenter: string): Record<string, unknown> {
  const { Kind, Proxy, Connect, ...rest } = s.service;
  return { ...(Kind ? { Kind } : {}), ...rest, ...(Proxy ? { Proxy } : {}), ...(Connect ? { Connect } : {}), Datacenter: datacenter };
}

function checkWire(c: CheckState): Record<string, unknown> {
  return { ...c.check, CreateIndex: 0, ModifyIndex: 0 };
}

/** The worst status of a service's checks and the node's (agent/agent_endpoint.go AgentHealthServiceByID). */
function serviceHealth(agent: Agent, s: ServiceState): { AggregatedStatus: string; Service: unknown; Checks: unknown[] } {
  const checks = agent.state.checks().filter((c) => c.check.ServiceID === s.service.ID || c.check.ServiceID === '');
  let status = 'passing';
  for (const c of checks) {
    if (c.check.Type === 'maintenance') status = 'maintenance';
    else if (c.check.Status === 'critical' && status !== 'maintenance') status = 'critical';
    else if (c.check.Status === 'warning' && status === 'passing') status = 'warning';
  }
  return { AggregatedStatus: status, Service: serviceWire(s, agent.identity.datacenter), Checks: checks.map(checkWire) };
}

function healthStatusCode(status: string): number {
  return status === 'passing' ? 200 : status === 'warning' ? 429 : 503;
}

function maintenanceParams(url: URL): { enable: boolean; reason: string } {
  const raw = url.searchParams.get('enable');
  if (raw === null) throw Errors.badRequest('Missing value for enable');
  if (raw !== 'true' && raw !== 'false') throw Errors.badRequest(`Invalid value for enable: ${JSON.stringify(raw)}`);
  return { enable: raw === 'true', reason: url.searchParams.get('reason') ?? '' };
}

function flag(url: URL, name: string): boolean {
  const v = url.searchParams.get(name);
  if (v === null) return false;
  if (v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw Errors.badRequest(`Invalid value for ?${name}`);
}

/** Consul reads the token from X-Consul-Token, then `Authorization: Bearer`, then ?token=. */
function tokenOf(req: IncomingMessage, url: URL): string {
  const header = req.headers['x-consul-token'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return url.searchParams.get('token') ?? '';
}

function truncate(output: string): string {
  const bytes = Buffer.from(output, 'utf8');
  if (bytes.length <= CHECK_BUF_SIZE) return output;
  return `${bytes.subarray(0, CHECK_BUF_SIZE).toString('utf8')} ... (captured ${CHECK_BUF_SIZE} of ${bytes.length} bytes)`;
}

function writeText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function splitHostPort(addr: string): [string, number] {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr.replace(/^https?:\/\//, ''));
  if (!m) throw AgentErrors.invalid(`-http-addr: expected host:port, got ${JSON.stringify(addr)}`);
  const port = Number(m[2]);
  if (port > 65535) throw AgentErrors.invalid(`-http-addr: invalid port in ${JSON.stringify(addr)}`);
  return [m[1]!, port];
}
