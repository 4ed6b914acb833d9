/**
 * `certificatesResolvers.<name>.acme` of Traefik's static configuration (pkg/provider/acme Configuration, the
 * "Certificates Resolvers" reference page), for the challenges Meshgate answers: `httpChallenge` and `tlsChallenge`.
 * Every object is strict and the whole `certificatesResolvers` key stays in Traefik's key list (traefik-keys.ts), so
 * a key Traefik has and this schema lacks — `dnsChallenge`, `profile` — is refused as
 * "not supported by meshgate: certificatesResolvers.<name>.acme.<key>", never as an unknown key.
 */
import { z } from 'zod';
import { durationSchema } from '../config/schema/services.ts';
import { tailscaleSchema, type TailscaleConfig } from '../tailscale/schema.ts';

/** Traefik's default CA (lego.LEDirectoryProduction) and storage file (Configuration.SetDefaults). */
export const LETS_ENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
export const DEFAULT_ACME_STORAGE = 'acme.json';
/** Traefik's default `certificatesDuration` in hours (Let's Encrypt's 90 days). */
export const DEFAULT_CERTIFICATES_DURATION_HOURS = 2160;

const section = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? {} : v), schema);

export const acmeKeyTypes = ['EC256', 'EC384', 'RSA2048', 'RSA4096', 'RSA8192'] as const;
export type AcmeKeyType = (typeof acmeKeyTypes)[number];

export const acmeSchema = z
  .object({
    email: z.string().default(''),
    caServer: z.string().url().default(LETS_ENCRYPT_PRODUCTION),
    /**
     * A file (Traefik's acme.json), or `consul-kv://<host:port>/<prefix>` — Meshgate's shared storage in the
     * server's KV, so every gateway replica uses one account and one set of certificates (docs/gateway.md).
     */
    storage: z.string().min(1).default(DEFAULT_ACME_STORAGE),
    keyType: z.enum(acmeKeyTypes).default('RSA4096'),
    certificatesDuration: z.number().int().positive().default(DEFAULT_CERTIFICATES_DURATION_HOURS),
    preferredChain: z.string().optional(),
    /** PEM files (or PEM text) of CAs trusted for the CA server's own HTTPS, besides the system's (Traefik v3). */
    caCertificates: z.array(z.string().min(1)).optional(),
    eab: z.object({ kid: z.string().min(1), hmacEncoded: z.string().min(1) }).strict().optional(),
    /** `delay`: time between setting up the answer and asking the CA to validate (Traefik v3), e.g. for a slow load balancer. */
    httpChallenge: z.object({ entryPoint: z.string().min(1), delay: durationSchema.optional() }).strict().optional(),
    tlsChallenge: section(z.object({}).strict()).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!v.httpChallenge && !v.tlsChallenge) {
      // Traefik refuses this too, at the first certificate: "ACME challenge not specified".
      ctx.addIssue({ code: 'custom', message: 'ACME challenge not specified: set httpChallenge or tlsChallenge' });
    }
  });

/** One resolver: ACME (this folder) or Tailscale (gateway/tailscale); Traefik starts a provider for each kind set. */
export type CertificateResolverConfig = { acme: AcmeConfig; tailscale?: TailscaleConfig } | { acme?: AcmeConfig; tailscale: TailscaleConfig };

export const certificatesResolversSchema = z.record(
  z.string().min(1),
  z.object({ acme: acmeSchema.optional(), tailscale: tailscaleSchema.optional() }).strict().transform((resolver, ctx): CertificateResolverConfig => {
    if (resolver.acme === undefined && resolver.tailscale === undefined) {
      // Only say so when nothing else was wrong (an empty resolver).
      if (ctx.issues.length === 0) ctx.addIssue({ code: 'custom', message: 'a certificate resolver needs `acme` or `tailscale`', path: ['acme'] });
      return z.NEVER;
    }
    return resolver.acme !== undefined ? { acme: resolver.acme, ...(resolver.tailscale ? { tailscale: resolver.tailscale } : {}) } : { tailscale: resolver.tailscale! };
  }),
);

export type AcmeConfig = z.infer<typeof acmeSchema>;
export type CertificatesResolversConfig = z.infer<typeof certificatesResolversSchema>;
