/**
 * `npm run demo`: starts the whole architecture (see topology.ts), prints where to look and what to try, and on
 * Ctrl-C stops every process it started. Ports are the usual ones (8500 server, 8080/8081 gateway); set
 * MESHGATE_DEMO_PORT_BASE to shift them all, e.g. when a real Consul already holds 8500.
 */
import { curlLine, DEFAULT_PORTS, startDemo, type DemoPorts } from './topology.ts';

const shift = Number(process.env.MESHGATE_DEMO_PORT_BASE ?? 0);
const ports = Object.fromEntries(Object.entries(DEFAULT_PORTS).map(([k, v]) => [k, v + shift])) as unknown as DemoPorts;
const started = Date.now();
const interrupted = new AbortController();
let demo: Awaited<ReturnType<typeof startDemo>> | undefined;
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('\n==> Stopping the demo…');
    // During start-up the abort makes startDemo stop what it started; afterwards stop() does it.
    if (!demo) return interrupted.abort();
    void demo.stop().then(() => {
      console.log('==> Stopped; no process left behind.');
      process.exit(0);
    });
  });
}
console.log('==> Starting the Meshgate demo');
try {
  demo = await startDemo({ ports, progress: (line) => console.log(`    ${line}`), signal: interrupted.signal });
} catch (err) {
  console.error(`==> ${(err as Error).message}`);
  process.exit(interrupted.signal.aborted ? 0 : 1);
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);

console.log(`
==> Meshgate demo is up (${seconds} s). Everything runs on 127.0.0.1; logs are in ${demo.workdir}.

    UI (Consul's role):        ${demo.uiUrl}
    Gateway dashboard:         ${demo.dashboardUrl}
    Gateway entry point:       ${demo.gatewayUrl}
    Login token (management):  ${demo.managementToken}

==> Try:
${demo.curls.map((c) => `    # ${c.what}\n    ${curlLine(c.args)}`).join('\n\n')}

    # make B fail its health check, watch it turn critical in the UI and A report the broken hop
    curl -s -X PUT 'http://127.0.0.1:${demo.ports.b}/admin/health?status=critical'
    # change B's configuration: the agent re-renders the file B reads
    curl -s -X PUT -H 'X-Consul-Token: ${demo.managementToken}' --data '{"greeting":"changed live"}' http://127.0.0.1:${demo.ports.server}/v1/kv/config/b/settings

==> Press Ctrl-C to stop everything.`);
