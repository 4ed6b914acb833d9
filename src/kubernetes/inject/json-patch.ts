/**
 * RFC 6902 patch from one JSON document to another, the shape an admission response carries (consul-k8s builds
 * the same with jsonpatch.CreatePatch from the pod before and after mutation). Objects are compared key by key;
 * an array that only grew gets `add …/-` per new element, so the patch appends to what the API server holds even
 * if another webhook added entries first; any other array change replaces it whole.
 */
export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace';
  path: string;
  value?: unknown;
}

export function createPatch(before: unknown, after: unknown, path = ''): JsonPatchOp[] {
  if (isObject(before) && isObject(after)) {
    const ops: JsonPatchOp[] = [];
    for (const key of Object.keys(before)) if (!Object.hasOwn(after, key)) ops.push({ op: 'remove', path: `${path}/${escape(key)}` });
    for (const [key, value] of Object.entries(after)) {
      if (value === undefined) continue;
      if (!Object.hasOwn(before, key) || before[key] === undefined) ops.push({ op: 'add', path: `${path}/${escape(key)}`, value });
      else ops.push(...createPatch(before[key], value, `${path}/${escape(key)}`));
    }
    return ops;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const grewOnly = after.length >= before.length && before.every((item, i) => deepEqual(item, after[i]));
    if (grewOnly) return after.slice(before.length).map((value) => ({ op: 'add', path: `${path}/-`, value }));
  }
  return deepEqual(before, after) ? [] : [{ op: 'replace', path, value: after }];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

// The documents compared are a pod and its mutated clone, so equal parts keep their key order.
function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
