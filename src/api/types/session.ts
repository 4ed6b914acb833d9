/** Session endpoints' wire types. */

export type SessionBehavior = 'release' | 'delete';

export interface ServiceCheck {
  ID: string;
  Namespace?: string;
}

/** A session as `/v1/session/info|list|node|renew` return it. */
export interface SessionEntry {
  ID: string;
  Name: string;
  Node: string;
  /** Go time.Duration: nanoseconds on the wire when read back. */
  LockDelay: number;
  Behavior: SessionBehavior;
  /** Go duration string, "" when none. */
  TTL: string;
  /** Legacy list of node check IDs (before NodeChecks/ServiceChecks). */
  Checks?: string[] | null;
  NodeChecks?: string[] | null;
  ServiceChecks?: ServiceCheck[] | null;
  Namespace?: string;
  Partition?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** `PUT /v1/session/create` body. LockDelay/TTL accept Go duration strings ("15s"). */
export interface SessionCreateRequest {
  Name?: string;
  Node?: string;
  LockDelay?: string | number;
  Behavior?: SessionBehavior;
  TTL?: string;
  Checks?: string[];
  NodeChecks?: string[];
  ServiceChecks?: ServiceCheck[];
  Namespace?: string;
}

/** `PUT /v1/session/create` answer. */
export interface SessionCreateResponse {
  ID: string;
}
