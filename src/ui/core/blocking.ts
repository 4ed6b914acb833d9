/**
 * Live data from Consul's blocking queries (`?index=&wait=`): the first request answers at once, each next one is
 * held by the server until something under it changes (or `wait` passes) — no polling interval anywhere. A
 * response without X-Consul-Index is not blockable and is read once. Errors back off exponentially (1 s to 30 s)
 * and keep the last data visible; a token change restarts the query with the new identity.
 */
import { useEffect, useState } from 'react';
import { ApiError, consulFetch } from './http.ts';
import { useToken } from './token.ts';

export interface Live<T> {
  readonly data: T | undefined;
  readonly error: ApiError | undefined;
  readonly loading: boolean;
  /** X-Consul-Index of `data`; 0 before the first answer. */
  readonly index: number;
}

const WAIT = '5m';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/**
 * Follows `path` (null: nothing to follow). `notFoundAs` is the value a 404 stands for (KV answers an empty
 * prefix with 404 and still carries an index to block on).
 */
export function useBlocking<T>(path: string | null, options: { notFoundAs?: T } = {}): Live<T> {
  const token = useToken()?.secretId;
  const [state, setState] = useState<Live<T>>({ data: undefined, error: undefined, loading: path !== null, index: 0 });
  const hasNotFound = 'notFoundAs' in options;
  const notFoundAs = options.notFoundAs;
  useEffect(() => {
    if (path === null) {
      setState({ data: undefined, error: undefined, loading: false, index: 0 });
      return undefined;
    }
    const controller = new AbortController();
    const { signal } = controller;
    setState({ data: undefined, error: undefined, loading: true, index: 0 });
    void (async () => {
      let index = 0;
      let failures = 0;
      while (!signal.aborted) {
        const sep = path.includes('?') ? '&' : '?';
        const url = index > 0 ? `${path}${sep}index=${index}&wait=${WAIT}` : path;
        try {
          let data: T;
          let next: number;
          try {
            const res = await consulFetch(url, { signal });
            const text = await res.text();
            data = (text === '' ? null : JSON.parse(text)) as T;
            next = Number(res.headers.get('X-Consul-Index') ?? 0);
          } catch (err) {
            if (!(hasNotFound && err instanceof ApiError && err.status === 404)) throw err;
            data = notFoundAs as T;
            next = err.index;
          }
          failures = 0;
          if (signal.aborted) return;
          // Consul's rules: an index that went backwards resets; an unchanged one (the wait ran out) changes nothing.
          if (next !== index || index === 0) setState({ data, error: undefined, loading: false, index: next });
          if (!Number.isFinite(next) || next <= 0) return;
          index = next < index ? 0 : next;
        } catch (err) {
          if (signal.aborted) return;
          const error = err instanceof ApiError ? err : new ApiError(0, err instanceof Error ? err.message : String(err), url);
          setState((s) => ({ ...s, error, loading: false }));
          // A refused token or a missing permission will not fix itself: wait for the user (a token change restarts).
          if (error.status === 403 || error.status === 401 || error.status === 400) return;
          failures++;
          index = 0;
          await sleep(Math.min(30_000, 1000 * 2 ** (failures - 1)), signal);
        }
      }
    })();
    return () => controller.abort();
    // notFoundAs is a constant per call site; listing it would restart the query on every render for object literals.
  }, [path, token, hasNotFound]);
  return state;
}
