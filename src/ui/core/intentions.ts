/** Intentions as the pages read them: the live list and the server's own answer to "can A reach B?". */
import { useEffect, useState } from 'react';
import { useBlocking, type Live } from './blocking.ts';
import { consulJson } from './http.ts';
import { useToken } from './token.ts';

export interface Intention {
  ID?: string;
  SourceName: string;
  SourceNS?: string;
  DestinationName: string;
  DestinationNS?: string;
  SourceType?: string;
  Action?: string;
  Permissions?: unknown[];
  Description?: string;
  Precedence?: number;
  Meta?: Record<string, string>;
  CreateIndex?: number;
  ModifyIndex?: number;
}

export function useIntentions(): Live<Intention[]> {
  return useBlocking<Intention[]>('/v1/connect/intentions');
}

export function checkPath(source: string, destination: string): string {
  return `/v1/connect/intentions/check?source=${encodeURIComponent(source)}&destination=${encodeURIComponent(destination)}`;
}

export type Decisions = Map<string, boolean | Error>;

/** `source→destination` → allowed, asked of the server for each pair; asked again whenever `version` moves. */
export function useDecisions(pairs: ReadonlyArray<readonly [string, string]>, version: number): Decisions {
  const token = useToken()?.secretId;
  const [decisions, setDecisions] = useState<Decisions>(new Map());
  const key = pairs.map(([s, d]) => `${s}→${d}`).join('|');
  useEffect(() => {
    const controller = new AbortController();
    void Promise.all(pairs.map(async ([s, d]) => {
      try {
        const answer = await consulJson<{ Allowed: boolean }>(checkPath(s, d), { signal: controller.signal });
        return [`${s}→${d}`, answer.Allowed] as const;
      } catch (err) {
        return [`${s}→${d}`, err instanceof Error ? err : new Error(String(err))] as const;
      }
    })).then((entries) => {
      if (!controller.signal.aborted) setDecisions(new Map<string, boolean | Error>(entries));
    });
    return () => controller.abort();
    // `pairs` is rebuilt each render; `key` is its identity.
  }, [key, version, token]);
  return decisions;
}
