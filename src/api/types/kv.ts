/** KV endpoint wire types. */

/** One entry of `/v1/kv/:key`; `Value` is base64 on the wire (null for a key with no value). */
export interface KVPair {
  Key: string;
  CreateIndex: number;
  ModifyIndex: number;
  LockIndex: number;
  Flags: number;
  Value: string | null;
  Session?: string;
  Namespace?: string;
  Partition?: string;
}

/** `PUT /v1/kv/:key` query options. */
export interface KVPutOptions {
  /** `?flags=` — opaque uint64 stored with the key. */
  flags?: number;
  /** `?cas=` — write only if ModifyIndex equals this (0: only if absent). */
  cas?: number;
  /** `?acquire=` — take the lock with this session. */
  acquire?: string;
  /** `?release=` — release the lock held by this session. */
  release?: string;
}

/** `DELETE /v1/kv/:key` query options. */
export interface KVDeleteOptions {
  recurse?: boolean;
  cas?: number;
}
