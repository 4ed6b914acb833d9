/**
 * /v1/acl — Consul's ACL HTTP API (agent/acl_endpoint.go, agent/consul/acl_endpoint.go): bootstrap, tokens
 * (create, read, update, delete, clone, self, list with filters), policies and roles (by ID and by name, list),
 * and the legacy rules translation. Reads need `acl:read`, writes `acl:write`; `token/self` needs only a token
 * that resolves. A token's secret is shown to `acl:write` holders only (else Consul's "<hidden>"). With ACLs off
 * every route answers Consul's 401 "ACL support disabled".
 */
import { z } from 'zod';
import { Errors } from '../../lib/errors.ts';
import { permissionDenied, type Authorizer } from '../acl/authorizer.ts';
import { ErrAclInvalid, deletePolicy, getPolicy, getPolicyByName, policyToStub, policyToWire, preparePolicy } from '../acl/policies.ts';
import { applyRole, deleteRole, getRole, getRoleByName, roleToWire } from '../acl/roles.ts';
import type { AclSystem } from '../acl/system.ts';
import { POLICIES_TABLE, ROLES_TABLE, TOKENS_TABLE, type PolicyRow, type RoleRow } from '../acl/tables.ts';
import type { TokenInput } from '../acl/tokens.ts';
import { translateLegacyRules } from '../acl/translate.ts';
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import { decodeBody } from '../http/decode.ts';
import type { ApiRouter, RequestContext } from '../http/router.ts';
import type { StoredRow } from '../store/types.ts';
import { ErrAclDisabled } from './unsupported.ts';

const Link = z.object({ ID: z.string().optional(), Name: z.string().optional() });
const ServiceIdentity = z.object({ ServiceName: z.string(), Datacenters: z.array(z.string()).nullable().optional() });
const NodeIdentity = z.object({ NodeName: z.string(), Datacenter: z.string() });

const TokenBody = z.object({
  AccessorID: z.string().optional(),
  SecretID: z.string().optional(),
  Description: z.string().optional(),
  Policies: z.array(Link).nullable().optional(),
  Roles: z.array(Link).nullable().optional(),
  ServiceIdentities: z.array(ServiceIdentity).nullable().optional(),
  NodeIdentities: z.array(NodeIdentity).nullable().optional(),
  Local: z.boolean().optional(),
  AuthMethod: z.string().optional(),
  ExpirationTime: z.string().nullable().optional(),
  ExpirationTTL: z.union([z.string(), z.number()]).optional(),
});

const PolicyBody = z.object({
  ID: z.string().optional(),
  Name: z.string().optional(),
  Description: z.string().optional(),
  Rules: z.string().optional(),
  Datacenters: z.array(z.string()).nullable().optional(),
});

const RoleBody = z.object({
  ID: z.string().optional(),
  Name: z.string().optional(),
  Description: z.string().optional(),
  Policies: z.array(Link).nullable().optional(),
  ServiceIdentities: z.array(ServiceIdentity).nullable().optional(),
  NodeIdentities: z.array(NodeIdentity).nullable().optional(),
});

const ROUTES: ReadonlyArray<readonly [string, string]> = [
  ['PUT', '/v1/acl/bootstrap'], ['PUT', '/v1/acl/token'], ['GET', '/v1/acl/token/self'], ['GET', '/v1/acl/tokens'],
  ['GET', '/v1/acl/token/:id'], ['PUT', '/v1/acl/token/:id'], ['DELETE', '/v1/acl/token/:id'], ['PUT', '/v1/acl/token/:id/clone'],
  ['PUT', '/v1/acl/policy'], ['GET', '/v1/acl/policies'], ['GET', '/v1/acl/policy/:id'], ['PUT', '/v1/acl/policy/:id'],
  ['DELETE', '/v1/acl/policy/:id'], ['GET', '/v1/acl/policy/name/:name'], ['POST', '/v1/acl/rules/translate'],
  ['PUT', '/v1/acl/role'], ['GET', '/v1/acl/roles'], ['GET', '/v1/acl/role/:id'], ['PUT', '/v1/acl/role/:id'],
  ['DELETE', '/v1/acl/role/:id'], ['GET', '/v1/acl/role/name/:name'],
];

/** Registers the ACL routes; `acl` undefined (ACLs off) answers each with Consul's 401. */
export function registerAclEndpoints(api: ApiRouter, deps: ServerDeps, acl: AclSystem | undefined): void {
  if (!acl) {
    for (const [method, pattern] of ROUTES) api.add(method, pattern, () => { throw ErrAclDisabled(); });
    return;
  }
  const { store } = deps;
  const { tokens, resolver } = acl;
  const authz = (ctx: RequestContext): Authorizer => resolver.resolve(ctx.token);
  const needRead = (ctx: RequestContext): Authorizer => {
    const a = authz(ctx);
    if (!a.aclRead()) throw permissionDenied(a, 'acl', 'read');
    return a;
  };
  const needWrite = (ctx: RequestContext): Authorizer => {
    const a = authz(ctx);
    if (!a.aclWrite()) throw permissionDenied(a, 'acl', 'write');
    return a;
  };

  api.put('/v1/acl/bootstrap', async (ctx) => {
    const raw = (await ctx.body()).length > 0 ? await ctx.json() : undefined;
    const body = raw === undefined ? {} : decodeBody(z.object({ BootstrapSecret: z.string().optional() }), raw);
    const created = await acl.bootstrap(body.BootstrapSecret);
    // Consul's aclBootstrapResponse carries the secret again as the legacy `ID`.
    return { body: { ID: created.secretId, ...created.token } };
  });

  // ---- tokens ----
  api.put('/v1/acl/token', async (ctx) => {
    needWrite(ctx);
    const input = await tokenInput(ctx);
    if (input.AuthMethod) throw ErrAclInvalid('AuthMethod field is disallowed outside of Login');
    return { body: (await tokens.createToken(input)).token };
  });

  api.get('/v1/acl/token/self', (ctx) => {
    // Only a token that resolves; the token is the caller's own, so its secret is shown (TokenRead by secret).
    authz(ctx);
    const secret = ctx.token;
    const row = secret ? tokens.bySecret(secret) : undefined;
    if (!row) throw Errors.notFound('Supplied token does not exist');
    return { index: row.modifyIndex, body: { ...tokens.toWire(row, false), SecretID: secret } };
  });

  api.get('/v1/acl/tokens', (ctx) => {
    const a = needRead(ctx);
    const filters = {
      ...optionalParam(ctx, 'policy', 'policy'), ...optionalParam(ctx, 'role', 'role'),
      ...optionalParam(ctx, 'authmethod', 'authMethod'), ...optionalParam(ctx, 'servicename', 'serviceName'),
    };
    const showSecret = a.aclWrite();
    return blockingQuery(ctx, store, {
      watches: [{ table: TOKENS_TABLE }, { table: POLICIES_TABLE }, { table: ROLES_TABLE }],
      run: () => ({ index: store.tableIndex(TOKENS_TABLE, POLICIES_TABLE, ROLES_TABLE), body: tokens.list(filters).map((r) => tokens.toWire(r, showSecret)) }),
    });
  });

  api.get('/v1/acl/token/:id', (ctx) => {
    const a = needRead(ctx);
    const id = requiredParam(ctx, 'id', 'Missing token AccessorID');
    return blockingQuery(ctx, store, {
      watches: [{ table: TOKENS_TABLE, key: id }],
      run: () => {
        const row = tokens.get(id);
        const index = store.tableIndex(TOKENS_TABLE);
        if (!row) return { status: 404, index, body: 'Requested token does not exist: ACL not found', text: true };
        return { index, body: tokens.toWire(row, a.aclWrite()) };
      },
    });
  });

  api.put('/v1/acl/token/:id', async (ctx) => {
    needWrite(ctx);
    const id = requiredParam(ctx, 'id', 'Missing token AccessorID');
    const input = await tokenInput(ctx);
    if (input.AccessorID && input.AccessorID !== id) throw Errors.badRequest('Token Accessor ID in URL and payload do not match');
    const row = await tokens.updateToken(id, input);
    return { body: tokens.toWire(row, true) };
  });

  api.delete('/v1/acl/token/:id', async (ctx) => {
    needWrite(ctx);
    await tokens.deleteToken(requiredParam(ctx, 'id', 'Missing token AccessorID'), ctx.token);
    return { body: true };
  });

  api.put('/v1/acl/token/:id/clone', async (ctx) => {
    needWrite(ctx);
    const raw = (await ctx.body()).length > 0 ? await ctx.json() : undefined;
    const body = raw === undefined ? {} : decodeBody(z.object({ Description: z.string().optional() }), raw);
    return { body: (await tokens.cloneToken(requiredParam(ctx, 'id', 'Missing token AccessorID'), body.Description)).token };
  });

  // ---- policies ----
  api.put('/v1/acl/policy', async (ctx) => {
    needWrite(ctx);
    const input = decodeBody(PolicyBody, await requiredJson(ctx));
    if (input.ID) throw Errors.badRequest('Cannot specify the ID when creating a new policy');
    const prepared = await preparePolicy(nullsDropped(input), true);
    const { result } = await store.write((tx) => prepared.apply(tx).ID);
    return { body: policyToWire(getPolicy(store, result)!) };
  });

  api.get('/v1/acl/policies', (ctx) => {
    needRead(ctx);
    return blockingQuery(ctx, store, {
      watches: [{ table: POLICIES_TABLE }],
      run: () => ({ index: store.tableIndex(POLICIES_TABLE), body: store.list<PolicyRow>(POLICIES_TABLE).map(policyToStub) }),
    });
  });

  const readPolicy = (ctx: RequestContext, find: () => StoredRow<PolicyRow> | undefined) => {
    needRead(ctx);
    return blockingQuery(ctx, store, {
      watches: [{ table: POLICIES_TABLE }],
      run: () => {
        const row = find();
        const index = store.tableIndex(POLICIES_TABLE);
        if (!row) return { status: 404, index, body: 'Requested policy does not exist: ACL not found', text: true };
        return { index, body: policyToWire(row) };
      },
    });
  };
  api.get('/v1/acl/policy/name/:name', (ctx) => readPolicy(ctx, () => getPolicyByName(store, requiredParam(ctx, 'name', 'Missing policy Name'))));
  api.get('/v1/acl/policy/:id', (ctx) => readPolicy(ctx, () => getPolicy(store, requiredParam(ctx, 'id', 'Missing policy ID'))));

  api.put('/v1/acl/policy/:id', async (ctx) => {
    needWrite(ctx);
    const id = requiredParam(ctx, 'id', 'Missing policy ID');
    const input = decodeBody(PolicyBody, await requiredJson(ctx));
    if (input.ID && input.ID !== id) throw Errors.badRequest('Policy ID in URL and payload do not match');
    const prepared = await preparePolicy({ ...nullsDropped(input), ID: id }, false);
    await store.write((tx) => prepared.apply(tx));
    return { body: policyToWire(getPolicy(store, id)!) };
  });

  api.delete('/v1/acl/policy/:id', async (ctx) => {
    needWrite(ctx);
    const id = requiredParam(ctx, 'id', 'Missing policy ID');
    await store.write((tx) => deletePolicy(tx, id));
    return { body: true };
  });

  api.post('/v1/acl/rules/translate', async (ctx) => {
    needRead(ctx);
    const text = (await ctx.body()).toString('utf8');
    return { body: await translateLegacyRules(text), text: true };
  });

  // ---- roles ----
  api.put('/v1/acl/role', async (ctx) => {
    needWrite(ctx);
    const input = decodeBody(RoleBody, await requiredJson(ctx));
    if (input.ID) throw Errors.badRequest('Cannot specify the ID when creating a new role');
    const { result } = await store.write((tx) => applyRole(tx, nullsDropped(input), true).ID);
    return { body: roleToWire(store, getRole(store, result)!) };
  });

  api.get('/v1/acl/roles', (ctx) => {
    needRead(ctx);
    const policy = ctx.query.get('policy') || undefined;
    return blockingQuery(ctx, store, {
      watches: [{ table: ROLES_TABLE }, { table: POLICIES_TABLE }],
      run: () => ({
        index: store.tableIndex(ROLES_TABLE, POLICIES_TABLE),
        body: store.list<RoleRow>(ROLES_TABLE).filter((r) => !policy || r.value.Policies.some((p) => p.ID === policy)).map((r) => roleToWire(store, r)),
      }),
    });
  });

  const readRole = (ctx: RequestContext, find: () => StoredRow<RoleRow> | undefined) => {
    needRead(ctx);
    return blockingQuery(ctx, store, {
      watches: [{ table: ROLES_TABLE }, { table: POLICIES_TABLE }],
      run: () => {
        const row = find();
        const index = store.tableIndex(ROLES_TABLE, POLICIES_TABLE);
        if (!row) return { status: 404, index, body: 'Requested role does not exist: ACL not found', text: true };
        return { index, body: roleToWire(store, row) };
      },
    });
  };
  api.get('/v1/acl/role/name/:name', (ctx) => readRole(ctx, () => getRoleByName(store, requiredParam(ctx, 'name', 'Missing role Name'))));
  api.get('/v1/acl/role/:id', (ctx) => readRole(ctx, () => getRole(store, requiredParam(ctx, 'id', 'Missing role ID'))));

  api.put('/v1/acl/role/:id', async (ctx) => {
    needWrite(ctx);
    const id = requiredParam(ctx, 'id', 'Missing role ID');
    const input = decodeBody(RoleBody, await requiredJson(ctx));
    if (input.ID && input.ID !== id) throw Errors.badRequest('Role ID in URL and payload do not match');
    await store.write((tx) => applyRole(tx, { ...nullsDropped(input), ID: id }, false));
    return { body: roleToWire(store, getRole(store, id)!) };
  });

  api.delete('/v1/acl/role/:id', async (ctx) => {
    needWrite(ctx);
    const id = requiredParam(ctx, 'id', 'Missing role ID');
    await store.write((tx) => deleteRole(tx, id));
    return { body: true };
  });
}

async function tokenInput(ctx: RequestContext): Promise<TokenInput> {
  const raw = (await ctx.body()).length > 0 ? await ctx.json() : {};
  return nullsDropped(decodeBody(TokenBody, raw)) as TokenInput;
}

async function requiredJson(ctx: RequestContext): Promise<unknown> {
  const raw = await ctx.json();
  if (raw === undefined) throw Errors.badRequest('Request decode failed: EOF');
  return raw;
}

function requiredParam(ctx: RequestContext, name: string, message: string): string {
  const value = ctx.params[name] ?? '';
  if (value === '') throw Errors.badRequest(message);
  return value;
}

function optionalParam<K extends string>(ctx: RequestContext, param: string, key: K): Partial<Record<K, string>> {
  const v = ctx.query.get(param);
  return v ? ({ [key]: v } as Record<K, string>) : {};
}

/** JSON `null` for a list is "absent" (Go's nil slice); the ACL modules take undefined. */
function nullsDropped<T extends Record<string, unknown>>(input: T): { [K in keyof T]: Exclude<T[K], null> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (v !== null && v !== undefined) out[k] = v;
  return out as { [K in keyof T]: Exclude<T[K], null> };
}
