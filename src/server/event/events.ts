/**
 * The user-event buffer in the state store and the rules Consul applies to events: validateUserEventParams,
 * shouldProcessUserEvent, uuidToUint64 (agent/user_event.go, agent/event_endpoint.go).
 */
import { randomUUID } from 'node:crypto';
import { compileGoRegexp } from '../../lib/go-regexp/index.ts';
import { defineError } from '../../lib/errors.ts';
import type { StoreReader, WriteTxn } from '../store/types.ts';

export const EVENTS_TABLE = 'events';
/** Consul's agent keeps this many events (userEventBufferSize... the eventBuf of 256). */
export const EVENT_BUFFER_SIZE = 256;
/** serf's UserEventSizeLimit default: name plus payload, before encoding. */
export const USER_EVENT_SIZE_LIMIT = 512;

/** agent.UserEvent as /v1/event/fire and /v1/event/list send it. */
export interface UserEvent {
  ID: string;
  Name: string;
  /** base64 (Go's []byte in JSON), null when the event has none. */
  Payload: string | null;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  LTime: number;
}

export const ErrEventInvalid = defineError('MG_EVENT_INVALID', 400, (message: string) => message);
export const ErrEventTooLarge = defineError('MG_EVENT_TOO_LARGE', 413, (size: number) =>
  `user event exceeds configured limit of ${USER_EVENT_SIZE_LIMIT} bytes before encoding (${size} bytes)`);

const keyOf = (ltime: number): string => String(ltime).padStart(20, '0');

export interface EventRequest {
  name: string;
  payload: Buffer;
  nodeFilter: string;
  serviceFilter: string;
  tagFilter: string;
}

/** validateUserEventParams, with Consul's messages; filters compile as Go regexps (lib/go-regexp). */
export function validateEvent(req: EventRequest): void {
  if (req.name === '') throw ErrEventInvalid('User event missing name');
  if (req.tagFilter !== '' && req.serviceFilter === '') throw ErrEventInvalid('Cannot provide tag filter without service filter');
  for (const [what, pattern] of [['node', req.nodeFilter], ['service', req.serviceFilter], ['tag', req.tagFilter]] as const) {
    if (pattern === '') continue;
    try {
      compileGoRegexp(pattern);
    } catch (err) {
      throw ErrEventInvalid(`Invalid ${what} filter: ${(err as Error).message}`);
    }
  }
  const size = Buffer.byteLength(req.name) + req.payload.length;
  if (size > USER_EVENT_SIZE_LIMIT) throw ErrEventTooLarge(size);
}

/** Appends an event (LTime one past the newest) and trims the buffer to its last EVENT_BUFFER_SIZE events. */
export function fireEvent(tx: WriteTxn, req: EventRequest): UserEvent {
  const rows = tx.list<UserEvent>(EVENTS_TABLE);
  const ltime = (rows.at(-1)?.value.LTime ?? 0) + 1;
  const event: UserEvent = {
    ID: randomUUID(),
    Name: req.name,
    Payload: req.payload.length > 0 ? req.payload.toString('base64') : null,
    NodeFilter: req.nodeFilter,
    ServiceFilter: req.serviceFilter,
    TagFilter: req.tagFilter,
    Version: 1,
    LTime: ltime,
  };
  tx.put(EVENTS_TABLE, keyOf(ltime), event);
  const excess = rows.length + 1 - EVENT_BUFFER_SIZE;
  for (let i = 0; i < excess; i++) tx.delete(EVENTS_TABLE, rows[i]!.key);
  return event;
}

/** What this agent is: its node name and its services' names and tags (for the filters). */
export interface EventReceiver {
  node: string;
  services: ReadonlyArray<{ Service: string; Tags: readonly string[] }>;
}

/** shouldProcessUserEvent: the node filter matches the node name; the service (and tag) filter one local service. */
export function receives(agent: EventReceiver, event: UserEvent): boolean {
  if (event.NodeFilter !== '' && !matches(event.NodeFilter, agent.node)) return false;
  if (event.ServiceFilter === '') return true;
  return agent.services.some((s) =>
    matches(event.ServiceFilter, s.Service) && (event.TagFilter === '' || s.Tags.some((t) => matches(event.TagFilter, t))));
}

function matches(pattern: string, value: string): boolean {
  try {
    return compileGoRegexp(pattern).test(value);
  } catch {
    return false; // validated when fired; an event written by an older server with a bad filter reaches no one
  }
}

/** The events this agent received, oldest first, optionally only those named `name`. */
export function receivedEvents(store: StoreReader, agent: EventReceiver, name: string): UserEvent[] {
  return store.list<UserEvent>(EVENTS_TABLE).map((r) => r.value).filter((e) => (name === '' || e.Name === name) && receives(agent, e));
}

/**
 * Consul's uuidToUint64: the UUID's first 64 bits XOR its last 64 bits, as a decimal string (a uint64 does not fit
 * a JS number). An empty list answers 1, so a watcher does not spin on 0.
 */
export function eventIndex(events: readonly UserEvent[]): string {
  const last = events.at(-1);
  if (!last) return '1';
  const hex = last.ID.replace(/-/g, '');
  return (BigInt(`0x${hex.slice(0, 16)}`) ^ BigInt(`0x${hex.slice(16, 32)}`)).toString();
}
