/**
 * Consul service definition files (`{"service": {...}}` or `{"services": [...]}`) turned into agent API bodies.
 * Files use Consul's configuration spelling (`name`, `enable_tag_override`, `check: {http, interval}`), the API
 * wants PascalCase (`Name`, `EnableTagOverride`, `Check: {HTTP, Interval}`); both spellings are accepted. Maps whose
 * keys are the user's own (`meta`, `header`, proxy `config`) are copied untouched.
 */
import { readFile } from 'node:fs/promises';
import type { AgentServiceRegistration } from '../../../api/types.ts';
import { CliErrors } from '../../io.ts';

/** Words spelled in capitals in Consul's Go field names. */
const ACRONYMS: Record<string, string> = { id: 'ID', ttl: 'TTL', http: 'HTTP', tcp: 'TCP', udp: 'UDP', grpc: 'GRPC', tls: 'TLS', h2ping: 'H2PING', dns: 'DNS', sni: 'SNI' };
/** Field names that do not follow from their words. */
const SPECIAL: Record<string, string> = { args: 'ScriptArgs', script_args: 'ScriptArgs', h2ping_use_tls: 'H2PingUseTLS', h2_ping_use_tls: 'H2PingUseTLS' };
/** Fields whose value is a map keyed by the user: keys kept, values copied as they are. */
const OPAQUE = new Set(['Meta', 'NodeMeta', 'Header', 'Config']);
/** Fields whose value is a map keyed by the user, with structured values. */
const KEYED = new Set(['TaggedAddresses']);

export function apiFieldName(key: string): string {
  if (SPECIAL[key]) return SPECIAL[key];
  if (/^[A-Z]/.test(key)) return key;
  return key.split('_').map((word) => ACRONYMS[word.toLowerCase()] ?? (word.charAt(0).toUpperCase() + word.slice(1))).join('');
}

export function toApiShape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toApiShape);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const name = apiFieldName(key);
    if (OPAQUE.has(name)) out[name] = v;
    else if (KEYED.has(name) && v && typeof v === 'object') {
      out[name] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, inner]) => [k, toApiShape(inner)]));
    } else out[name] = toApiShape(v);
  }
  return out;
}

/** Reads a definition file and returns its services, each in the agent API's shape. */
export async function readServiceDefinitions(file: string): Promise<AgentServiceRegistration[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw CliErrors.failed(`Error! Failed to read file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw CliErrors.failed(`Error! Failed to decode ${file}: ${(err as Error).message} (only JSON service definitions are supported)`);
  }
  return servicesFromDocument(doc, file);
}

export function servicesFromDocument(doc: unknown, source: string): AgentServiceRegistration[] {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw CliErrors.failed(`Error! ${source}: expected a JSON object with "service" or "services"`);
  const top = doc as Record<string, unknown>;
  const single = top.service ?? top.Service;
  const many = top.services ?? top.Services;
  const raw: unknown[] = [];
  if (single !== undefined) raw.push(single);
  if (many !== undefined) {
    if (!Array.isArray(many)) throw CliErrors.failed(`Error! ${source}: "services" must be a list`);
    raw.push(...many);
  }
  if (raw.length === 0) throw CliErrors.failed(`Error! ${source}: no "service" or "services" block found`);
  return raw.map((entry, i) => {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw CliErrors.failed(`Error! ${source}: service ${i} is not an object`);
    const svc = toApiShape(entry) as AgentServiceRegistration;
    if (typeof svc.Name !== 'string' || svc.Name === '') throw CliErrors.failed(`Error! ${source}: service ${i} has no "name"`);
    return svc;
  });
}
