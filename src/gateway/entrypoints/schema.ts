/** Traefik's static `entryPoints.<name>` block, the keys Meshgate supports (strict: others are errors). */
import { z } from 'zod';
import { durationSchema } from '../services/schema.ts';

export const ENTRYPOINT_DEFAULTS = {
  readTimeout: 60_000,
  writeTimeout: 0,
  idleTimeout: 180_000,
  graceTimeOut: 10_000,
  maxHeaderBytes: 1 << 20,
} as const;

export const entryPointSchema = z
  .object({
    address: z.string().min(1),
    asDefault: z.boolean().optional(),
    transport: z
      .object({
        respondingTimeouts: z
          .object({
            readTimeout: durationSchema.default(ENTRYPOINT_DEFAULTS.readTimeout / 1000),
            writeTimeout: durationSchema.default(0),
            idleTimeout: durationSchema.default(ENTRYPOINT_DEFAULTS.idleTimeout / 1000),
          })
          .strict()
          .optional(),
        lifeCycle: z
          .object({
            requestAcceptGraceTimeout: durationSchema.default(0),
            graceTimeOut: durationSchema.default(ENTRYPOINT_DEFAULTS.graceTimeOut / 1000),
          })
          .strict()
          .optional(),
        keepAliveMaxRequests: z.number().int().min(0).optional(),
        keepAliveMaxTime: durationSchema.optional(),
      })
      .strict()
      .optional(),
    forwardedHeaders: z
      .object({
        trustedIPs: z.array(z.string()).default([]),
        insecure: z.boolean().default(false),
        connection: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    http: z
      .object({
        middlewares: z.array(z.string()).optional(),
        tls: z.record(z.string(), z.unknown()).optional(),
        redirections: z.record(z.string(), z.unknown()).optional(),
        encodeQuerySemicolons: z.boolean().optional(),
        maxHeaderBytes: z.number().int().min(1024).optional(),
      })
      .strict()
      .optional(),
    observability: z
      .object({ accessLogs: z.boolean().optional(), metrics: z.boolean().optional(), tracing: z.boolean().optional() })
      .strict()
      .optional(),
  })
  .strict();

export type EntryPointConfig = z.infer<typeof entryPointSchema>;

/** ":8000" → all interfaces; "127.0.0.1:8000"; "[::1]:8000". */
export function parseAddress(address: string): { host: string | undefined; port: number } {
  const colon = address.lastIndexOf(':');
  if (colon === -1) throw new Error(`entry point address "${address}" needs a port`);
  let host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`entry point address "${address}": bad port`);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host === '' ? undefined : host, port };
}
