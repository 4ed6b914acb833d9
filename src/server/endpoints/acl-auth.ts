/**
 * /v1/acl auth methods, binding rules, login and logout (agent/acl_endpoint.go; Consul's HTTP API pages "ACL Auth
 * Methods", "ACL Binding Rules", "ACL login"): reads need `acl:read`, writes `acl:write`; login needs no token (the
 * bearer credential is the proof) and logout only the login token itself. With ACLs off none of these is
 * registered and unsupported.ts answers Consul's 401 "ACL support disabled".
 */
import { z } from 'zod';
import { Errors } from '../../lib/errors.ts';
import { permissionDenied, type Authorizer } from '../acl/authorizer.ts';
import { AUTH_METHODS_TABLE, AuthMethods, BINDING_RULES_TABLE, type AuthMethodRow, type BindingRuleRow } from '../acl/auth-methods/index.ts';
import type { AclSystem } from '../acl/system.ts';
import { DEFAULT_TOKEN_LIMITS } from '../acl/tokens.ts';
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import { decodeBody } from '../http/decode.ts';
import type { ApiRouter, RequestContext } from '../http/router.ts';
import type { StoredRow } from '../store/types.ts';

const AuthMethodBody = z.object({
  Name: z.string().optional(),
  Type: z.string().optional(),
  DisplayName: z.string().optional(),
  Description: z.string().optional(),
  MaxTokenTTL: z.union([z.string(), z.number()]).optional(),
  TokenLocality: z.string().optional(),
  Config: z.record(z.string(), z.unknown()).nullable().optional(),
});

const BindingRuleBody = z.object({
  ID: z.string().optional(),
  Description: z.string().optional(),
  AuthMethod: z.string().optional(),
  Selector: z.string().optional(),
  BindType: z.string().optional(),
  BindName: z.string().optional(),
});

const LoginBody = z.object({
  AuthMethod: z.string().optional(),
  BearerToken: z.string().optional(),
  Meta: z.record(z.string(), z.string()).nullable().optional(),
});

export function registerAclAuthEndpoints(api: ApiRouter, deps: ServerDeps, acl: AclSystem | undefined): void {
  if (!acl) return;
  const { store } = deps;
  const methods = new AuthMethods({ store, tokens: acl.tokens, datacenter: deps.identity.datacenter, limits: DEFAULT_TOKEN_LIMITS });
  deps.onClose(() => methods.close());
  const authz = (ctx: RequestContext): Authorizer => acl.resolver.resolve(ctx.token);
  const needRead = (ctx: RequestContext): void => {
    const a = authz(ctx);
    if (!a.aclRead()) throw permissionDenied(a, 'acl', 'read');
  };
  const needWrite = (ctx: RequestContext): void => {
    const a = authz(ctx);
    if (!a.aclWrite()) throw permissionDenied(a, 'acl', 'write');
  };

  // ---- auth methods ----
  api.put('/v1/acl/auth-method', async (ctx) => {
    needWrite(ctx);
    const input = decodeBody(AuthMethodBody, await requiredJson(ctx));
    return { body: methodToWire(await methods.upsertMethod({ ...withoutNulls(input) })) };
  });

  api.put('/v1/acl/auth-method/:name', async (ctx) => {
    needWrite(ctx);
    const name = ctx.params.name ?? '';
    const input = decodeBody(AuthMethodBody, await requiredJson(ctx));
    if (input.Name && input.Name !== name) throw Errors.badRequest('AuthMethod Name in URL and payload do not match');
    return { body: methodToWire(await methods.upsertMethod({ ...withoutNulls(input), Name: name })) };
  });

  api.get('/v1/acl/auth-method/:name', (ctx) => {
    needRead(ctx);
    const name = ctx.params.name ?? '';
    return blockingQuery(ctx, store, {
      watches: [{ table: AUTH_METHODS_TABLE, key: name }],
      run: () => {
        const row = methods.getMethod(name);
        const index = store.tableIndex(AUTH_METHODS_TABLE);
        if (!row) return { status: 404, index, body: 'Requested auth method does not exist: ACL not found', text: true };
        return { index, body: methodToWire(row) };
      },
    });
  });

  api.delete('/v1/acl/auth-method/:name', async (ctx) => {
    needWrite(ctx);
    await methods.deleteMethod(ctx.params.name ?? '');
    return { body: true };
  });

  api.get('/v1/acl/auth-methods', (ctx) => {
    needRead(ctx);
    return blockingQuery(ctx, store, {
      watches: [{ table: AUTH_METHODS_TABLE }],
      run: () => ({ index: store.tableIndex(AUTH_METHODS_TABLE), body: methods.listMethods().map(methodStub) }),
    });
  });

  // ---- binding rules ----
  api.put('/v1/acl/binding-rule', async (ctx) => {
    needWrite(ctx);
    const input = decodeBody(BindingRuleBody, await requiredJson(ctx));
    return { body: ruleToWire(await methods.upsertRule(input, true)) };
  });

  api.put('/v1/acl/binding-rule/:id', async (ctx) => {
    needWrite(ctx);
    const id = ctx.params.id ?? '';
    const input = decodeBody(BindingRuleBody, await requiredJson(ctx));
    if (input.ID && input.ID !== id) throw Errors.badRequest('BindingRule ID in URL and payload do not match');
    return { body: ruleToWire(await methods.upsertRule({ ...input, ID: id }, false)) };
  });

  api.get('/v1/acl/binding-rule/:id', (ctx) => {
    needRead(ctx);
    const id = ctx.params.id ?? '';
    return blockingQuery(ctx, store, {
      watches: [{ table: BINDING_RULES_TABLE, key: id }],
      run: () => {
        const row = methods.getRule(id);
        const index = store.tableIndex(BINDING_RULES_TABLE);
        if (!row) return { status: 404, index, body: 'Requested binding rule does not exist: ACL not found', text: true };
        return { index, body: ruleToWire(row) };
      },
    });
  });

  api.delete('/v1/acl/binding-rule/:id', async (ctx) => {
    needWrite(ctx);
    await methods.deleteRule(ctx.params.id ?? '');
    return { body: true };
  });

  api.get('/v1/acl/binding-rules', (ctx) => {
    needRead(ctx);
    const authMethod = ctx.query.get('authmethod') || undefined;
    return blockingQuery(ctx, store, {
      watches: [{ table: BINDING_RULES_TABLE }],
      run: () => ({ index: store.tableIndex(BINDING_RULES_TABLE), body: methods.listRules(authMethod).map(ruleToWire) }),
    });
  });

  // ---- login / logout ----
  api.post('/v1/acl/login', async (ctx) => {
    // Consul's ACL.Login refuses a request that carries a token: the bearer credential is the only proof.
    if (ctx.token) throw Errors.badRequest('do not provide a token when logging in');
    const input = decodeBody(LoginBody, await requiredJson(ctx));
    if (!input.AuthMethod) throw Errors.badRequest('Invalid Login request: Missing auth parameters');
    const created = await methods.login({ AuthMethod: input.AuthMethod, BearerToken: input.BearerToken ?? '', ...(input.Meta ? { Meta: input.Meta } : {}) });
    return { body: created.token };
  });

  api.post('/v1/acl/logout', async (ctx) => {
    await methods.logout(ctx.token);
    return { body: true };
  });
}

function methodToWire(row: StoredRow<AuthMethodRow>): Record<string, unknown> {
  const m = row.value;
  return {
    Name: m.Name,
    Type: m.Type,
    ...(m.DisplayName ? { DisplayName: m.DisplayName } : {}),
    Description: m.Description,
    ...(m.MaxTokenTTL ? { MaxTokenTTL: m.MaxTokenTTL } : {}),
    ...(m.TokenLocality ? { TokenLocality: m.TokenLocality } : {}),
    Config: m.Config,
    CreateIndex: row.createIndex,
    ModifyIndex: row.modifyIndex,
  };
}

/** Consul's ACLAuthMethodListStub: no Config. */
function methodStub(row: StoredRow<AuthMethodRow>): Record<string, unknown> {
  const { Config: _config, ...stub } = methodToWire(row);
  return stub;
}

function ruleToWire(row: StoredRow<BindingRuleRow>): Record<string, unknown> {
  return { ...row.value, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex };
}

async function requiredJson(ctx: RequestContext): Promise<unknown> {
  const raw = await ctx.json();
  if (raw === undefined) throw Errors.badRequest('Request decode failed: EOF');
  return raw;
}

function withoutNulls<T extends { Config?: Record<string, unknown> | null | undefined }>(input: T): Omit<T, 'Config'> & { Config?: Record<string, unknown> } {
  const { Config, ...rest } = input;
  return { ...rest, ...(Config ? { Config } : {}) };
}
