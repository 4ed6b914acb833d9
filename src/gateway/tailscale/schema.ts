/**
 * `certificatesResolvers.<name>.tailscale` of Traefik's static configuration (pkg/config/static CertificateResolver:
 * `Tailscale *struct{}` — the page writes `tailscale: {}`, TOML an empty table). Traefik has no option here: tscert
 * always asks the local tailscaled on its default socket. `socket` is Meshgate's own key (docs/gateway.md) for a
 * tailscaled listening elsewhere (`tailscaled --socket=…`); without it, the environment variable
 * MESHGATE_TAILSCALED_SOCKET, then tscert's default. The variable lets a Traefik file that must stay unchanged (the
 * docs replay, a shared configuration) point at another socket.
 */
import { z } from 'zod';

/** tscert's DefaultTailscaledSocket on Linux (internal/paths: `/var/run` exists). */
export const DEFAULT_TAILSCALED_SOCKET = '/var/run/tailscale/tailscaled.sock';

export const TAILSCALED_SOCKET_ENV = 'MESHGATE_TAILSCALED_SOCKET';

export const tailscaleSchema = z.preprocess(
  // YAML `tailscale:` with nothing after it is null; Traefik treats it as the empty struct.
  (v) => (v === null ? {} : v),
  z.object({ socket: z.string().min(1).default(() => process.env[TAILSCALED_SOCKET_ENV] || DEFAULT_TAILSCALED_SOCKET) }).strict(),
);

export type TailscaleConfig = z.infer<typeof tailscaleSchema>;
