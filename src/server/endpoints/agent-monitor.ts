/**
 * GET /v1/agent/monitor: streams the server's log lines as they are written, as agent/agent_endpoint.go's
 * AgentMonitor does — `?loglevel=` (default info; an unknown level is a 400 "Unknown log level: X"), `?logjson`
 * for hclog's JSON lines — until the client goes away. How lines are captured: ../monitor/README.md.
 */
import { PassThrough } from 'node:stream';
import type { ServerDeps } from '../deps.ts';
import type { ApiRouter } from '../http/router.ts';
import { LogTap, MONITOR_LEVELS, formatJson, formatText, type MonitorLevel } from '../monitor/log-tap.ts';
import { Errors } from '../../lib/errors.ts';
import { requirePermission } from '../acl/enforce.ts';

export function registerAgentMonitorEndpoint(api: ApiRouter, deps: ServerDeps): void {
  const tap = LogTap.of(deps.logger);

  api.get('/v1/agent/monitor', (ctx) => {
    // Consul's AgentMonitor: agent:read on this agent's node.
    requirePermission(ctx.authorizer(), 'agent', 'read', deps.identity.nodeName);
    const raw = (ctx.query.get('loglevel') || 'info').toLowerCase();
    const name = raw === 'warning' ? 'warn' : raw === 'err' ? 'error' : raw;
    if (!Object.hasOwn(MONITOR_LEVELS, name)) throw Errors.badRequest(`Unknown log level: ${ctx.query.get('loglevel')}`);
    const min = MONITOR_LEVELS[name as MonitorLevel];
    const json = ctx.query.has('logjson');
    const out = new PassThrough();
    const unsubscribe = tap.subscribe((line) => {
      if (line.level >= min) out.write(json ? formatJson(line) : formatText(line));
    });
    const stop = (): void => {
      unsubscribe();
      out.end();
    };
    if (ctx.signal.aborted) stop();
    else ctx.signal.addEventListener('abort', stop, { once: true });
    out.on('close', unsubscribe);
    // The status line goes out at once, before the first log line, so a client knows the monitor is attached.
    deps.logger.child({ part: 'agent' }).debug({ loglevel: name, json }, 'monitor attached');
    return { body: out, headers: { 'Content-Type': 'text/plain; charset=utf-8' } };
  });
}
