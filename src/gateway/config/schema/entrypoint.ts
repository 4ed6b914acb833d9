/**
 * Traefik's static `entryPoints.<name>` block, the keys Meshgate supports (strict: others are errors) — the one
 * definition, used by the static configuration and by the entry points (entrypoints/schema.ts re-exports it).
 */
import { z } from 'zod';
import { durationSchema } from './services.ts';

export const ENTRYPOINT_DEFAULTS = {
  readTimeout: 60_000,
  writeTimeout: 0,
  idleTimeout: 180_000,
  graceTimeOut: 10_000,
  maxHeaderBytes: 1 << 20,
} as const;

/** A section written with no value is YAML null; Traefik treats it as present. */
const section = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? {} : v), schema);

const tlsDomainSchema = z.object({ main: z.string().optional(), sans: z.array(z.string()).optional() }).strict();

const entryPointTlsSchema = z
  .object({
    options: z.string().optional(),
    certResolver: z.string().optional(),
    domains: z.array(tlsDomainSchema).optional(),
  })
  .strict();

export const entryPointSchema = z
  .object({
    address: z.string().min(1),
    asDefault: z.boolean().optional(),
    // SO_REUSEPORT (Node's listen reusePort, Linux/BSD): several gateways, or a new one beside the old during a
    // canary, share the port and the kernel spreads the connections.
    reusePort: z.boolean().optional(),
    http: z
      .object({
        tls: section(entryPointTlsSchema).optional(),
        middlewares: z.array(z.string()).optional(),
        redirections: z
          .object({
            entryPoint: z
              .object({
                to: z.string(),
                scheme: z.string().default('https'),
                permanent: z.boolean().default(true),
                priority: z.number().int().optional(),
              })
              .strict(),
          })
          .strict()
          .optional(),
        encodeQuerySemicolons: z.boolean().optional(),
        // On by default, as Traefik's request-path security page says: `.`/`..` segments and duplicate slashes are
        // removed before routing (http/request-path.ts); false routes and forwards the path as sent.
        sanitizePath: z.boolean().optional(),
        maxHeaderBytes: z.number().int().min(1024).optional(),
        // Traefik v3.6.4+ (every option true by default since v3.6.7): a request path with a character refused here
        // percent-encoded answers 400 before routing (http/encoded-characters.ts).
        encodedCharacters: z
          .object({
            allowEncodedSlash: z.boolean().optional(), allowEncodedBackSlash: z.boolean().optional(),
            allowEncodedNullCharacter: z.boolean().optional(), allowEncodedSemicolon: z.boolean().optional(),
            allowEncodedPercent: z.boolean().optional(), allowEncodedQuestionMark: z.boolean().optional(),
            allowEncodedHash: z.boolean().optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    transport: z
      .object({
        respondingTimeouts: z
          .object({
            readTimeout: durationSchema.prefault(ENTRYPOINT_DEFAULTS.readTimeout / 1000),
            writeTimeout: durationSchema.prefault(ENTRYPOINT_DEFAULTS.writeTimeout / 1000),
            idleTimeout: durationSchema.prefault(ENTRYPOINT_DEFAULTS.idleTimeout / 1000),
          })
          .strict()
          .optional(),
        lifeCycle: z
          .object({
            requestAcceptGraceTimeout: durationSchema.prefault(0),
            graceTimeOut: durationSchema.prefault(ENTRYPOINT_DEFAULTS.graceTimeOut / 1000),
          })
          .strict()
          .optional(),
        keepAliveMaxRequests: z.number().int().min(0).optional(),
        keepAliveMaxTime: durationSchema.optional(),
      })
      .strict()
      .optional(),
    // Traefik's HTTP2Config (pkg/config/static/entrypoints.go); SetDefaults there gives 250 and 4096.
    http2: section(
      z
        .object({
          maxConcurrentStreams: z.number().int().min(1).max(2 ** 31 - 1).optional(),
          maxDecoderHeaderTableSize: z.number().int().min(0).max(2 ** 31 - 1).optional(),
          maxEncoderHeaderTableSize: z.number().int().min(0).max(2 ** 31 - 1).optional(),
        })
        .strict(),
    ).optional(),
    // Traefik's ProxyProtocol: the PROXY header is read from `trustedIPs` peers only (`insecure`: from anyone).
    proxyProtocol: section(
      z.object({ insecure: z.boolean().default(false), trustedIPs: z.array(z.string()).optional() }).strict(),
    ).optional(),
    // Traefik's UDPConfig: an idle session is released after `timeout` (DefaultUDPTimeout, 3s).
    udp: section(z.object({ timeout: durationSchema.prefault(3) }).strict()).optional(),
    forwardedHeaders: z
      .object({
        trustedIPs: z.array(z.string()).optional(),
        insecure: z.boolean().default(false),
        connection: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    observability: z
      .object({
        accessLogs: z.boolean().optional(), metrics: z.boolean().optional(), tracing: z.boolean().optional(),
        traceVerbosity: z.enum(['minimal', 'detailed']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type EntryPointConfig = z.infer<typeof entryPointSchema>;
