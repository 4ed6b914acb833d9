/**
 * Static blocks of Traefik's KV providers (`providers.consul`, `providers.etcd`, `providers.redis`; pkg/provider/kv:
 * `rootKey` default "traefik", `endpoints`), of its HTTP provider (`providers.http`; pkg/provider/http: `endpoint`
 * required, `pollInterval` and `pollTimeout` 5s, `headers`, `tls`) and the client TLS block they share (Traefik's
 * types.ClientTLS). Kept out of static.ts so that file only names them; the providers are providers/kv*.ts and
 * providers/http-provider.ts.
 */
import { z } from 'zod';
import { durationSchema } from './services.ts';

/** Traefik's types.ClientTLS: a CA for the server, a client certificate, or no verification at all. */
export const clientTlsSchema = z
  .object({
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    insecureSkipVerify: z.boolean().default(false),
    /** Deprecated in Traefik v3 (has no effect there either); accepted so an old file still loads. */
    caOptional: z.boolean().optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!v.cert !== !v.key) ctx.addIssue({ code: 'custom', message: 'cert and key go together', path: [v.cert ? 'key' : 'cert'] });
  });

export type ClientTlsConfig = z.infer<typeof clientTlsSchema>;


/** `rootKey`: one path segment or more, no empty segment (Traefik joins it with `/`). */
const rootKeySchema = z
  .string()
  .default('traefik')
  .transform((v) => v.replace(/^\/+|\/+$/g, ''))
  .refine((v) => v !== '' && !v.split('/').includes(''), { message: 'rootKey must be a non-empty key path such as "traefik"' });

const endpoints = (fallback: string, single: string | undefined) => {
  const list = z.array(z.string().min(1)).min(1).default([fallback]);
  // Traefik's Consul and Redis stores (kvtools) refuse more than one endpoint rather than pick one.
  return single === undefined ? list : list.refine((v) => v.length === 1, { message: `${single} takes exactly one endpoint` });
};

export const consulKvSchema = z
  .object({
    endpoints: endpoints('127.0.0.1:8500', 'the consul provider'),
    rootKey: rootKeySchema,
    token: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    /** Consul Enterprise namespaces: accepted and logged as not supported (the default namespace is read). */
    namespaces: z.array(z.string()).optional(),
    tls: clientTlsSchema.optional(),
  })
  .strict();

export const etcdKvSchema = z
  .object({
    endpoints: endpoints('127.0.0.1:2379', undefined),
    rootKey: rootKeySchema,
    username: z.string().optional(),
    password: z.string().optional(),
    tls: clientTlsSchema.optional(),
  })
  .strict();

export const redisKvSchema = z
  .object({
    endpoints: endpoints('127.0.0.1:6379', 'the redis provider'),
    rootKey: rootKeySchema,
    username: z.string().optional(),
    password: z.string().optional(),
    db: z.number().int().min(0).default(0),
    tls: clientTlsSchema.optional(),
  })
  .strict();

export type ConsulKvConfig = z.infer<typeof consulKvSchema>;
export type EtcdKvConfig = z.infer<typeof etcdKvSchema>;
export type RedisKvConfig = z.infer<typeof redisKvSchema>;

export const httpProviderSchema = z
  .object({
    endpoint: z.url({ protocol: /^https?$/, error: 'endpoint must be an http:// or https:// URL' }),
    /** Milliseconds; Traefik refuses 0 ("poll interval must be greater than 0"). */
    pollInterval: durationSchema.prefault(5).refine((ms) => ms > 0, { message: 'pollInterval must be greater than 0' }),
    pollTimeout: durationSchema.prefault(5),
    headers: z.record(z.string(), z.string()).optional(),
    tls: clientTlsSchema.optional(),
  })
  .strict();

export type HttpProviderConfig = z.infer<typeof httpProviderSchema>;
