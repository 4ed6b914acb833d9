/**
 * What the install-configuration TLS replays (docs-replay-tls-install*.test.ts) share: a gateway started from a
 * page's static snippet plus a watched file provider, and routers on `websecure` for a list of hosts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runGateway, type GatewayHandle } from '../../src/gateway/main.ts';
import { silentLogger, type Logger } from '../../src/lib/logger.ts';

/** The `app` service on the test's upstream, and routers on `websecure` for `hosts` (optionally with a resolver). */
export function dynamicYaml(upstreamUrl: string, hosts: string[], certResolver?: string, extra = ''): string {
  const routers = hosts.map((h, i) => `    r${i}:
      rule: "Host(\`${h}\`)"
      entryPoints: [websecure]
      service: app
      tls: ${certResolver ? `{ certResolver: ${certResolver} }` : '{}'}
`).join('');
  return `http:
  routers:
${routers}  services:
    app:
      loadBalancer:
        servers:
          - url: "${upstreamUrl}"
${extra}`;
}

/** Starts a gateway from `staticText` plus a watched file provider holding `dynamicText`, in `dir`. */
export async function gateway(dir: string, staticText: string, dynamicText: string, ext: 'yaml' | 'toml' = 'yaml', logger: Logger = silentLogger()): Promise<GatewayHandle> {
  const dynamic = join(dir, 'dynamic.yml');
  writeFileSync(dynamic, dynamicText);
  const provider = ext === 'yaml'
    ? `providers:\n  providersThrottleDuration: 20ms\n  file:\n    filename: "${dynamic}"\n`
    : `[providers]\n  providersThrottleDuration = "20ms"\n  [providers.file]\n    filename = "${dynamic}"\n`;
  const file = join(dir, `gateway.${ext}`);
  // TOML: the provider tables go first, so the page's tables (and their keys) stay as the page wrote them.
  writeFileSync(file, ext === 'yaml' ? `${staticText}\n${provider}` : `${provider}\n${staticText}`);
  return runGateway({ configFile: file, workers: 1, handleSignals: false, lastGoodFile: false, logger });
}
