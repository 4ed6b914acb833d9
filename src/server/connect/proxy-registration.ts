/**
 * Consul's checks on a `connect-proxy` registration (agent/structs/structs.go NodeService.Validate), in its words:
 * a proxy names the one service it fronts (not a wildcard), listens on a port or a socket, is not itself Connect
 * native, and lists each upstream once. The catalog and the local agent call this before a proxy is stored.
 */
type Opt<T> = T | undefined;

interface UpstreamRegistration {
  DestinationName?: Opt<string>;
  DestinationType?: Opt<string>;
  LocalBindPort?: Opt<number>;
  LocalBindAddress?: Opt<string>;
  LocalBindSocketPath?: Opt<string>;
}

interface ProxyRegistration {
  Kind?: Opt<string>;
  Port?: Opt<number>;
  SocketPath?: Opt<string>;
  Proxy?: { DestinationServiceName?: Opt<string>; Upstreams?: UpstreamRegistration[] | null | undefined } | null | undefined;
  Connect?: { Native?: Opt<boolean> } | null | undefined;
}

/** The first rule a connect-proxy registration breaks, or undefined. Other kinds pass. */
export function connectProxyProblem(s: ProxyRegistration): string | undefined {
  if (s.Kind !== 'connect-proxy') return undefined;
  const destination = s.Proxy?.DestinationServiceName ?? '';
  if (destination.trim() === '') return 'Proxy.DestinationServiceName must be non-empty for Connect proxy services';
  if (destination === '*') return 'Proxy.DestinationServiceName must not be a wildcard for Connect proxy services';
  if (!s.Port && !s.SocketPath) return 'Port or SocketPath must be set for a Connect proxy';
  if (s.Connect?.Native) return 'A Proxy cannot also be Connect Native, only typical services';
  const seenNames = new Set<string>();
  const seenBinds = new Set<string>();
  for (const u of s.Proxy?.Upstreams ?? []) {
    const name = `${u.DestinationType || 'service'}:${u.DestinationName ?? ''}`;
    if (seenNames.has(name)) return `upstreams cannot contain duplicates of ${u.DestinationName ?? ''}`;
    seenNames.add(name);
    const bind = u.LocalBindSocketPath || `${u.LocalBindAddress || ''}:${u.LocalBindPort ?? 0}`;
    if ((u.LocalBindPort || u.LocalBindSocketPath) && seenBinds.has(bind)) return `upstreams cannot contain duplicates by local bind address and port or unix path; ${bind} is specified twice`;
    seenBinds.add(bind);
  }
  return undefined;
}
