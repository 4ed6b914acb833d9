/**
 * Traefik v3 `tcp` and `udp` dynamic configuration (pkg/config/dynamic/tcp_config.go, tcp_middlewares.go,
 * udp_config.go) as zod schemas with Traefik's keys and defaults. Strict objects: an unknown key is an error naming
 * its path. Durations come out in milliseconds.
 */
import { z } from 'zod';
import { durationSchema, spiffeSchema } from './services.ts';
import { ruleSyntaxSchema } from './rule-syntax.ts';

const tlsDomainSchema = z.object({ main: z.string().optional(), sans: z.array(z.string()).optional() }).strict();

export const tcpRouterSchema = z
  .object({
    rule: z.string().min(1),
    ruleSyntax: ruleSyntaxSchema.optional(),
    priority: z.number().int().optional(),
    entryPoints: z.array(z.string().min(1)).optional(),
    middlewares: z.array(z.string().min(1)).optional(),
    service: z.string().min(1),
    tls: z
      .preprocess(
        (v) => (v === null ? {} : v),
        z.object({
          passthrough: z.boolean().default(false),
          options: z.string().optional(),
          certResolver: z.string().optional(),
          domains: z.array(tlsDomainSchema).optional(),
        }).strict(),
      )
      .optional(),
  })
  .strict();

/** Traefik's ProxyProtocol block: version 1 (text) or 2 (binary, the default). */
const proxyProtocolSchema = z.object({ version: z.union([z.literal(1), z.literal(2)]).default(2) }).strict();

export const tcpServerSchema = z
  .object({
    address: z.string().min(1),
    tls: z.boolean().optional(),
    weight: z.number().int().min(0).optional(),
  })
  .strict();

/** TerminationDelay default (pkg/config/dynamic/tcp_config.go SetDefaults): 100ms; negative waits forever. */
export const TCP_DEFAULT_TERMINATION_DELAY_MS = 100;

export const tcpLoadBalancerSchema = z
  .object({
    servers: z.array(tcpServerSchema).default([]),
    serversTransport: z.string().optional(),
    proxyProtocol: proxyProtocolSchema.optional(),
    terminationDelay: z.number().int().optional(),
    healthCheck: z.unknown().optional(),
  })
  .strict();

const tcpWeightedSchema = z
  .object({ services: z.array(z.object({ name: z.string().min(1), weight: z.number().int().min(0).optional() }).strict()).min(1) })
  .strict();

export const tcpServiceSchema = z
  .object({ loadBalancer: tcpLoadBalancerSchema.optional(), weighted: tcpWeightedSchema.optional() })
  .strict()
  .superRefine((service, ctx) => {
    const kinds = (['loadBalancer', 'weighted'] as const).filter((k) => service[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: `a TCP service needs exactly one of loadBalancer, weighted${kinds.length > 1 ? ` (found ${kinds.join(', ')})` : ''}` });
  });

export const tcpMiddlewareSchema = z
  .object({
    ipAllowList: z.object({ sourceRange: z.array(z.string()).min(1) }).strict().optional(),
    inFlightConn: z.object({ amount: z.number().int().min(1) }).strict().optional(),
  })
  .strict()
  .superRefine((middleware, ctx) => {
    const kinds = Object.keys(middleware).filter((k) => (middleware as Record<string, unknown>)[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: 'a TCP middleware needs exactly one of ipAllowList, inFlightConn' });
  });

export const tcpServersTransportSchema = z
  .object({
    // prefault, not default: zod 4 hands a default out as the output, past the transform to milliseconds.
    dialTimeout: durationSchema.prefault('30s'),
    dialKeepAlive: durationSchema.prefault('15s'),
    terminationDelay: durationSchema.prefault(`${TCP_DEFAULT_TERMINATION_DELAY_MS}ms`),
    proxyProtocol: proxyProtocolSchema.optional(),
    tls: z
      .object({
        serverName: z.string().optional(),
        insecureSkipVerify: z.boolean().default(false),
        rootCAs: z.array(z.string()).optional(),
        certificates: z.array(z.object({ certFile: z.string(), keyFile: z.string() }).strict()).optional(),
        peerCertURI: z.string().optional(),
        // Traefik's TLSClientConfig.Spiffe: mTLS with the gateway's SVID (static spiffe.mesh), as the HTTP transports.
        spiffe: spiffeSchema.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const udpRouterSchema = z
  .object({ entryPoints: z.array(z.string().min(1)).optional(), service: z.string().min(1) })
  .strict();

export const udpLoadBalancerSchema = z
  .object({ servers: z.array(z.object({ address: z.string().min(1), weight: z.number().int().min(0).optional() }).strict()).default([]) })
  .strict();

export const udpServiceSchema = z
  .object({
    loadBalancer: udpLoadBalancerSchema.optional(),
    weighted: tcpWeightedSchema.optional(),
  })
  .strict()
  .superRefine((service, ctx) => {
    const kinds = (['loadBalancer', 'weighted'] as const).filter((k) => service[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: 'a UDP service needs exactly one of loadBalancer, weighted' });
  });

export type TcpRouterConfig = z.infer<typeof tcpRouterSchema>;
export type TcpServiceConfig = z.infer<typeof tcpServiceSchema>;
export type TcpMiddlewareConfig = z.infer<typeof tcpMiddlewareSchema>;
export type TcpServersTransportConfig = z.infer<typeof tcpServersTransportSchema>;
export type UdpRouterConfig = z.infer<typeof udpRouterSchema>;
export type UdpServiceConfig = z.infer<typeof udpServiceSchema>;

/** The sections as written (values kept raw, as the http section is), checked element by element. */
export interface TcpSection {
  routers: Record<string, unknown>;
  services: Record<string, unknown>;
  middlewares: Record<string, unknown>;
  serversTransports: Record<string, unknown>;
}

export interface UdpSection {
  routers: Record<string, unknown>;
  services: Record<string, unknown>;
}

export const TCP_SECTION_SCHEMAS = {
  routers: tcpRouterSchema,
  services: tcpServiceSchema,
  middlewares: tcpMiddlewareSchema,
  serversTransports: tcpServersTransportSchema,
} as const;

export const UDP_SECTION_SCHEMAS = { routers: udpRouterSchema, services: udpServiceSchema } as const;
