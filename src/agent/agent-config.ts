/**
 * The agent's file configuration merged from its sources (Consul's config builder, for the keys a client agent
 * uses): node identity, `retry_join`, `acl.tokens`, sidecar port range, and the definitions it keeps in sync —
 * `service {…}` / `services [...]` (with their `check`/`checks` and `connect { sidecar_service {} }`),
 * `check {…}` / `checks [...]`, and `template {…}` blocks. Later sources win for single values; definitions
 * accumulate. A key the agent does not know is reported back (the command logs it) so a Consul file loads.
 */
import { parseDuration } from '../lib/duration.ts';
import { isMeshgateError } from '../lib/errors.ts';
import type { AgentCheckRegistration, AgentServiceRegistration } from '../api/types.ts';
import type { ConfigSource } from './config-files.ts';
import { blockList, singleBlock, toApiShape } from './definition-shape.ts';
import { DEFAULT_SIDECAR_MAX_PORT, DEFAULT_SIDECAR_MIN_PORT } from '../api/sidecar-service.ts';
import { AgentErrors } from './errors.ts';
import { workloadApiSettings, type WorkloadApiSettings } from './workload-api/settings.ts';


export interface ServiceDefinition {
  registration: AgentServiceRegistration;
  /** The registration's own ACL token (`token` in the file); '' uses the agent's. */
  token: string;
  file: string;
}

export interface CheckFileDefinition {
  registration: AgentCheckRegistration;
  token: string;
  file: string;
}

export interface TemplateDefinition {
  /** A file holding the template text, or */
  source?: string;
  /** the text itself. */
  contents?: string;
  destination: string;
  /** Run (without a shell) after the destination changed. */
  command?: string[];
  commandTimeoutMs: number;
  /** consul-template's `wait { min max }`: quiet period before rendering, and the longest deferral. */
  waitMinMs: number;
  waitMaxMs: number;
  /** File mode of the destination. */
  perms: number;
  file: string;
}

export interface AgentFileConfig {
  nodeName?: string;
  datacenter?: string;
  dataDir?: string;
  advertiseAddr?: string;
  retryJoin: string[];
  nodeMeta: Record<string, string>;
  aclTokens: { agent?: string; default?: string };
  enableScriptChecks: boolean;
  sidecarMinPort: number;
  sidecarMaxPort: number;
  services: ServiceDefinition[];
  checks: CheckFileDefinition[];
  templates: TemplateDefinition[];
  /** `spiffe_workload_api {…}`: a SPIFFE Workload API socket serving one service's SVID (workload-api/settings.ts). */
  workloadApi?: WorkloadApiSettings;
  /** `file: key` for every top-level key this agent ignores. */
  ignoredKeys: string[];
}

/**
 * The keys read here that the shared loader's schema (src/lib/agent-config, the server's) does not know: `meshgate
 * validate` leaves them out of that schema and has this reader check them, so one file serves both.
 */
export const CLIENT_AGENT_KEYS: readonly string[] = [
  'node_meta', 'advertise_addr', 'enable_script_checks', 'enable_local_script_checks', 'template', 'spiffe_workload_api',
  'ports.sidecar_min_port', 'ports.sidecar_max_port',
];

/** Keys of a Consul agent file that describe things this agent does not do (servers, gossip, TLS of RPC…): ignored quietly. */
const QUIET_KEYS = new Set(['server', 'bootstrap', 'bootstrap_expect', 'bind_addr', 'client_addr', 'addresses', 'log_level', 'ui', 'ui_config',
  'encrypt', 'leave_on_terminate', 'skip_leave_on_interrupt', 'disable_update_check', 'telemetry', 'performance', 'connect']);

export function emptyConfig(): AgentFileConfig {
  return {
    retryJoin: [], nodeMeta: {}, aclTokens: {}, enableScriptChecks: false,
    sidecarMinPort: DEFAULT_SIDECAR_MIN_PORT, sidecarMaxPort: DEFAULT_SIDECAR_MAX_PORT,
    services: [], checks: [], templates: [], ignoredKeys: [],
  };
}

export function buildAgentConfig(sources: readonly ConfigSource[]): AgentFileConfig {
  const cfg = emptyConfig();
  for (const { file, doc } of sources) mergeSource(cfg, file, doc);
  if (cfg.sidecarMinPort > cfg.sidecarMaxPort) {
    throw AgentErrors.invalid(`ports.sidecar_min_port (${cfg.sidecarMinPort}) is above ports.sidecar_max_port (${cfg.sidecarMaxPort})`);
  }
  return cfg;
}

function mergeSource(cfg: AgentFileConfig, file: string, doc: Record<string, unknown>): void {
  for (const [key, raw] of Object.entries(doc)) {
    const value = singleBlockUnlessList(key, raw);
    switch (key) {
      case 'node_name': cfg.nodeName = str(value, file, key); break;
      case 'datacenter': cfg.datacenter = str(value, file, key); break;
      case 'data_dir': cfg.dataDir = str(value, file, key); break;
      case 'advertise_addr': cfg.advertiseAddr = str(value, file, key); break;
      case 'retry_join': cfg.retryJoin.push(...strList(value, file, key)); break;
      case 'node_meta': Object.assign(cfg.nodeMeta, stringMap(value, file, key)); break;
      case 'enable_script_checks': case 'enable_local_script_checks': cfg.enableScriptChecks = bool(value, file, key) || cfg.enableScriptChecks; break;
      case 'acl': mergeAcl(cfg, file, value); break;
      case 'ports': mergePorts(cfg, file, value); break;
      case 'service': case 'services':
        for (const [i, s] of blockList(raw).entries()) cfg.services.push(serviceDefinition(s, `${file}: ${key}[${i}]`, file));
        break;
      case 'check': case 'checks':
        for (const [i, c] of blockList(raw).entries()) cfg.checks.push(checkDefinition(c, `${file}: ${key}[${i}]`, file));
        break;
      case 'spiffe_workload_api': cfg.workloadApi = workloadApiSettings(value, file); break;
      case 'template':
        for (const [i, t] of blockList(raw).entries()) cfg.templates.push(templateDefinition(t, `${file}: template[${i}]`, file));
        break;
      default:
        if (!QUIET_KEYS.has(key)) cfg.ignoredKeys.push(`${file}: ${key}`);
    }
  }
}

function singleBlockUnlessList(key: string, raw: unknown): unknown {
  return key === 'retry_join' ? raw : singleBlock(raw);
}

function mergeAcl(cfg: AgentFileConfig, file: string, value: unknown): void {
  const acl = obj(value, file, 'acl');
  const tokens = acl.tokens === undefined ? {} : obj(singleBlock(acl.tokens), file, 'acl.tokens');
  if (tokens.agent !== undefined) cfg.aclTokens.agent = str(tokens.agent, file, 'acl.tokens.agent');
  if (tokens.default !== undefined) cfg.aclTokens.default = str(tokens.default, file, 'acl.tokens.default');
}

function mergePorts(cfg: AgentFileConfig, file: string, value: unknown): void {
  const ports = obj(value, file, 'ports');
  if (ports.sidecar_min_port !== undefined) cfg.sidecarMinPort = port(ports.sidecar_min_port, file, 'ports.sidecar_min_port');
  if (ports.sidecar_max_port !== undefined) cfg.sidecarMaxPort = port(ports.sidecar_max_port, file, 'ports.sidecar_max_port');
}

/** A `service` block in the API's shape; `check` blocks beyond one become `Checks`, and `token` is kept apart. */
export function serviceDefinition(raw: unknown, where: string, file: string): ServiceDefinition {
  const shaped = toApiShape(obj(raw, where, 'service')) as Record<string, unknown>;
  const token = shaped.Token;
  delete shaped.Token;
  normalizeServiceChecks(shaped);
  const connect = shaped.Connect as Record<string, unknown> | undefined;
  const sidecar = connect?.SidecarService as Record<string, unknown> | undefined;
  if (sidecar) normalizeServiceChecks(sidecar);
  if (typeof shaped.Name !== 'string' || shaped.Name === '') throw AgentErrors.invalid(`${where}: service has no "name"`);
  if (token !== undefined && typeof token !== 'string') throw AgentErrors.invalid(`${where}: "token" must be a string`);
  return { registration: shaped as unknown as AgentServiceRegistration, token: token ?? '', file };
}

function normalizeServiceChecks(s: Record<string, unknown>): void {
  const checks: unknown[] = [];
  if (s.Check !== undefined) checks.push(...blockList(s.Check));
  if (s.Checks !== undefined) checks.push(...blockList(s.Checks));
  delete s.Check;
  delete s.Checks;
  if (checks.length > 0) s.Checks = checks;
}

export function checkDefinition(raw: unknown, where: string, file: string): CheckFileDefinition {
  const shaped = toApiShape(obj(raw, where, 'check')) as Record<string, unknown>;
  const token = shaped.Token;
  delete shaped.Token;
  if (typeof shaped.Name !== 'string' || shaped.Name === '') throw AgentErrors.invalid(`${where}: check has no "name"`);
  if (token !== undefined && typeof token !== 'string') throw AgentErrors.invalid(`${where}: "token" must be a string`);
  return { registration: shaped as unknown as AgentCheckRegistration, token: token ?? '', file };
}

/** consul-template's defaults: a 30s command timeout, no wait, 0644. */
export function templateDefinition(raw: unknown, where: string, file: string): TemplateDefinition {
  const t = obj(raw, where, 'template');
  const known = new Set(['source', 'contents', 'destination', 'command', 'command_timeout', 'wait', 'perms']);
  for (const key of Object.keys(t)) if (!known.has(key)) throw AgentErrors.template(where, `unknown key "${key}"`);
  if (t.destination === undefined || t.destination === '') throw AgentErrors.template(where, '"destination" is required');
  const destination = str(t.destination, where, 'destination');
  const source = t.source === undefined ? undefined : str(t.source, where, 'source');
  const contents = t.contents === undefined ? undefined : str(t.contents, where, 'contents');
  if ((source === undefined) === (contents === undefined)) throw AgentErrors.template(where, 'exactly one of "source" or "contents" is required');
  let command: string[] | undefined;
  if (t.command !== undefined) {
    // A string is split on spaces (no shell, so no quoting); a list is taken as argv.
    command = typeof t.command === 'string' ? t.command.split(/\s+/).filter((a) => a !== '') : strList(t.command, where, 'command');
    if (command.length === 0) command = undefined;
  }
  const { min, max } = waitOf(t.wait, where);
  const perms = t.perms === undefined ? 0o644 : permsOf(t.perms, where);
  return {
    ...(source !== undefined ? { source } : {}),
    ...(contents !== undefined ? { contents } : {}),
    destination,
    ...(command ? { command } : {}),
    commandTimeoutMs: t.command_timeout === undefined ? 30_000 : duration(t.command_timeout, where, 'command_timeout'),
    waitMinMs: min,
    waitMaxMs: max,
    perms,
    file,
  };
}

/** `wait { min = "2s" max = "10s" }` or consul-template's short form `wait = "2s:10s"`; max defaults to 4×min. */
function waitOf(raw: unknown, where: string): { min: number; max: number } {
  if (raw === undefined) return { min: 0, max: 0 };
  const v = singleBlock(raw);
  let min: number;
  let max: number | undefined;
  if (typeof v === 'string') {
    const [a, b] = v.split(':');
    min = duration(a, where, 'wait');
    max = b === undefined ? undefined : duration(b, where, 'wait');
  } else {
    const w = obj(v, where, 'wait');
    min = w.min === undefined ? 0 : duration(w.min, where, 'wait.min');
    max = w.max === undefined ? undefined : duration(w.max, where, 'wait.max');
  }
  max ??= min * 4;
  if (max < min) throw AgentErrors.template(where, 'wait.max must not be below wait.min');
  return { min, max };
}

function permsOf(raw: unknown, where: string): number {
  const n = typeof raw === 'string' ? Number.parseInt(raw, 8) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0o777) throw AgentErrors.template(where, '"perms" must be an octal file mode such as "0640"');
  return n;
}

function duration(raw: unknown, where: string, key: string): number {
  try {
    if (typeof raw !== 'string') throw new Error('not a string');
    const ms = parseDuration(raw, key);
    if (ms < 0) throw new Error('negative');
    return ms;
  } catch (err) {
    if (isMeshgateError(err)) throw AgentErrors.invalid(`${where}: ${err.message}`);
    throw AgentErrors.invalid(`${where}: ${key} must be a duration such as "5s", got ${JSON.stringify(raw)}`);
  }
}

function obj(v: unknown, where: string, key: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw AgentErrors.invalid(`${where}: "${key}" must be an object`);
  return v as Record<string, unknown>;
}

function str(v: unknown, where: string, key: string): string {
  if (typeof v !== 'string') throw AgentErrors.invalid(`${where}: "${key}" must be a string`);
  return v;
}

function bool(v: unknown, where: string, key: string): boolean {
  if (typeof v !== 'boolean') throw AgentErrors.invalid(`${where}: "${key}" must be true or false`);
  return v;
}

function strList(v: unknown, where: string, key: string): string[] {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw AgentErrors.invalid(`${where}: "${key}" must be a list of strings`);
  return v as string[];
}

function stringMap(v: unknown, where: string, key: string): Record<string, string> {
  const o = obj(v, where, key);
  for (const [k, x] of Object.entries(o)) if (typeof x !== 'string') throw AgentErrors.invalid(`${where}: "${key}.${k}" must be a string`);
  return o as Record<string, string>;
}

function port(v: unknown, where: string, key: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw AgentErrors.invalid(`${where}: "${key}" must be a port number`);
  return v;
}
