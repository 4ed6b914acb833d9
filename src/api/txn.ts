/**
 * `PUT /v1/txn`: all operations apply atomically or none do. Consul answers 200 with Results when the transaction
 * committed and 409 with Errors ({OpIndex, What}) when it rolled back; both are answers, not failures.
 */
import type { Transport } from './transport.ts';
import { decodeJson, parseQueryMeta } from './transport.ts';
import type { QueryMeta, QueryOptions, TxnOp, TxnResult } from './types.ts';

export interface TxnOutcome {
  /** True when the transaction committed (HTTP 200). */
  ok: boolean;
  value: TxnResult;
  meta: QueryMeta;
}

export async function runTxn(t: Transport, ops: readonly TxnOp[], opts: Omit<QueryOptions, 'index' | 'waitMs'> = {}): Promise<TxnOutcome> {
  const spec = { method: 'PUT' as const, path: '/v1/txn', json: ops, query: opts, acceptStatus: [409] };
  const res = await t.send(spec);
  const body = decodeJson<TxnResult | null>(res, spec);
  return {
    ok: res.status === 200,
    value: { Results: body?.Results ?? null, Errors: body?.Errors ?? null },
    meta: parseQueryMeta(res.headers, res.requestTime),
  };
}
