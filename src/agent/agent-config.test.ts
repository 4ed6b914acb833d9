import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshgateError } from '../lib/errors.ts';
import { parseConsulHcl } from '../lib/hcl.ts';
import { buildAgentConfig } from './agent-config.ts';
import { expandSidecar, prepareService } from './registration.ts';

async function fromHcl(text: string) {
  return buildAgentConfig([{ file: 'x.hcl', doc: (await parseConsulHcl('x.hcl', text)) as Record<string, unknown> }]);
}

test('HCL service blocks become API registrations: blocks unwrapped, check blocks joined into Checks, token kept apart', async () => {
  const cfg = await fromHcl(`
service {
  name  = "web"
  port  = 8080
  token = "t1"
  meta {
    team = "a"
  }
  check {
    http     = "http://127.0.0.1:8080/health"
    interval = "5s"
  }
  check {
    ttl = "30s"
  }
}
service {
  name = "db"
}
acl {
  tokens {
    agent = "agent-t"
  }
}
template {
  contents    = "{{ key \\"a\\" }}"
  destination = "/tmp/x"
  wait {
    min = "1s"
  }
}
bogus = 1
`);
  assert.equal(cfg.services.length, 2);
  const web = cfg.services[0]!;
  assert.equal(web.token, 't1');
  assert.deepEqual(web.registration.Meta, { team: 'a' });
  assert.deepEqual(web.registration.Checks, [{ HTTP: 'http://127.0.0.1:8080/health', Interval: '5s' }, { TTL: '30s' }]);
  assert.equal(cfg.aclTokens.agent, 'agent-t');
  assert.equal(cfg.templates[0]!.waitMinMs, 1000);
  assert.equal(cfg.templates[0]!.waitMaxMs, 4000, 'max defaults to 4×min');
  assert.deepEqual(cfg.ignoredKeys, ['x.hcl: bogus']);
  const prepared = prepareService(web.registration, 'n1', false);
  assert.deepEqual(prepared.checks.map((c) => [c.check.CheckID, c.check.Type, c.check.Name]), [
    ['service:web:1', 'http', "Service 'web' check"],
    ['service:web:2', 'ttl', "Service 'web' check"],
  ]);
});

test('a sidecar_service expands as agent/sidecar_service.go: ID, kind, port from the range, inherited tags, defaults', async () => {
  const cfg = await fromHcl(`
service {
  name    = "web"
  id      = "web-1"
  port    = 8080
  tags    = ["v1"]
  connect {
    sidecar_service {
      proxy {
        upstreams = [{ destination_name = "db", local_bind_port = 9191 }]
      }
    }
  }
}
`);
  const parent = prepareService(cfg.services[0]!.registration, 'n1', false);
  const used = new Set([21000]);
  const reg = expandSidecar(parent.service, parent.sidecar!, { min: 21000, max: 21255, used: () => ({ taken: used }) });
  const sidecar = prepareService(reg, 'n1', false);
  assert.equal(sidecar.service.ID, 'web-1-sidecar-proxy');
  assert.equal(sidecar.service.Service, 'web-sidecar-proxy');
  assert.equal(sidecar.service.Kind, 'connect-proxy');
  assert.equal(sidecar.service.Port, 21001, 'the lowest free port of the range');
  assert.deepEqual(sidecar.service.Tags, ['v1']);
  assert.equal(sidecar.service.Proxy?.DestinationServiceID, 'web-1');
  assert.equal(sidecar.service.Proxy?.LocalServiceAddress, '127.0.0.1');
  assert.equal(sidecar.service.Proxy?.LocalServicePort, 8080);
  assert.deepEqual(sidecar.service.Proxy?.Upstreams, [{ DestinationName: 'db', LocalBindPort: 9191 }]);
  assert.deepEqual(sidecar.checks.map((c) => [c.check.Name, c.check.Type]), [['Connect Sidecar Listening', 'tcp'], ['Connect Sidecar Aliasing web-1', 'alias']]);
  // A re-registered sidecar keeps its port; an exhausted range is an error naming it.
  assert.equal(expandSidecar(parent.service, parent.sidecar!, { min: 21000, max: 21001, used: () => ({ own: 21001, taken: used }) }).Port, 21001);
  assert.throws(() => expandSidecar(parent.service, parent.sidecar!, { min: 21000, max: 21000, used: () => ({ taken: used }) }),
    (err: unknown) => isMeshgateError(err, 'MG_AGENT_SIDECAR_PORTS') && /\[21000, 21000\]/.test(err.message));
});

test('invalid definitions are refused with the field named and nothing half-applied', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ Port: 1 }, /Missing service name/],
    [{ Name: 'a', Port: 70000 }, /Invalid service port: 70000/],
    [{ Name: 'a', Meta: { 'consul-x': 'y' } }, /Invalid Service Meta/],
    [{ Name: 'a', Check: { HTTP: 'http://x' } }, /Invalid check: Interval must be > 0/],
    [{ Name: 'a', Check: { Args: ['/bin/true'], Interval: '10s' } }, /Scripts are disabled/],
    [{ Name: 'a', Check: { TTL: 'soon' } }, /Invalid check: TTL: invalid duration "soon"/],
    [{ Name: 'a', Kind: 'connect-proxy', Port: 1 }, /DestinationServiceName must be non-empty/],
  ];
  for (const [reg, message] of bad) {
    assert.throws(() => prepareService(reg as never, 'n1', false), (err: unknown) => isMeshgateError(err, 'MG_AGENT_INVALID') && message.test(err.message), JSON.stringify(reg));
  }
});

test('template blocks: unknown keys, missing destination, both source and contents are errors', async () => {
  for (const [body, message] of [
    ['destination = "/x"\ncontents = "a"\nshell = "sh"', /unknown key "shell"/],
    ['contents = "a"', /"destination" is required/],
    ['destination = "/x"\ncontents = "a"\nsource = "b"', /exactly one of "source" or "contents"/],
    ['destination = "/x"\ncontents = "a"\nperms = "999"', /"perms" must be an octal file mode/],
  ] as const) {
    await assert.rejects(fromHcl(`template {\n${body}\n}`), (err: unknown) => isMeshgateError(err, 'MG_AGENT_TEMPLATE') && message.test(err.message), body);
  }
});
