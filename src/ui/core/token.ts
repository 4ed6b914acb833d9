/**
 * The ACL token the app sends as X-Consul-Token. Kept in sessionStorage (gone with the tab) unless the user asked to
 * be remembered, then in localStorage. Components subscribe through useToken() so a login or logout re-runs every
 * query with the new identity.
 */
import { useSyncExternalStore } from 'react';

const KEY = 'meshgate.token';

export interface StoredToken {
  readonly secretId: string;
  /** Set when the token came from /v1/acl/login, so logout also destroys it on the server. */
  readonly fromLogin: boolean;
  readonly remember: boolean;
}

const listeners = new Set<() => void>();
let current: StoredToken | undefined = read();

function read(): StoredToken | undefined {
  for (const storage of storages()) {
    const raw = storage.getItem(KEY);
    if (!raw) continue;
    try {
      const value = JSON.parse(raw) as Partial<StoredToken>;
      if (typeof value.secretId === 'string' && value.secretId !== '') {
        return { secretId: value.secretId, fromLogin: value.fromLogin === true, remember: storage === safeLocal() };
      }
    } catch {
      storage.removeItem(KEY);
    }
  }
  return undefined;
}

function safeLocal(): Storage | undefined {
  try {
    return localStorage;
  } catch {
    return undefined;
  }
}

function storages(): Storage[] {
  const out: Storage[] = [];
  try {
    out.push(sessionStorage);
  } catch {
    // Disabled storage: the token lives in memory only.
  }
  const local = safeLocal();
  if (local) out.push(local);
  return out;
}

function emit(): void {
  for (const listener of listeners) listener();
}

export function getToken(): StoredToken | undefined {
  return current;
}

export function setToken(secretId: string, options: { remember: boolean; fromLogin: boolean }): void {
  for (const storage of storages()) storage.removeItem(KEY);
  const target = options.remember ? safeLocal() : storages()[0];
  target?.setItem(KEY, JSON.stringify({ secretId, fromLogin: options.fromLogin }));
  current = { secretId, fromLogin: options.fromLogin, remember: options.remember };
  emit();
}

export function clearToken(): void {
  for (const storage of storages()) storage.removeItem(KEY);
  current = undefined;
  emit();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useToken(): StoredToken | undefined {
  return useSyncExternalStore(subscribe, getToken);
}
