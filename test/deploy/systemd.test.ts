/**
 * The gateway host's install (deploy/): every systemd unit passes `systemd-analyze verify` with nothing to say
 * (an unknown or misspelt directive is only a warning there, so any output fails the test), the gateway unit keeps
 * its promises (no root, :80/:443 by capability, reload by SIGHUP), and the sample static configuration loads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadStaticConfig } from '../../src/gateway/config/static.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const units = ['meshgate-gateway.service', 'meshgate-server.service', 'meshgate-agent.service'];

test('systemd-analyze verify accepts every unit without a warning', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mg-units-'));
  for (const unit of units) {
    // verify checks that ExecStart exists: point it at this checkout's launcher instead of /usr/local/bin.
    const text = (await readFile(join(root, 'deploy/systemd', unit), 'utf8')).replaceAll('/usr/local/bin/meshgate', join(root, 'bin/meshgate'));
    await writeFile(join(dir, unit), text);
  }
  const { stdout, stderr } = await run('systemd-analyze', ['verify', ...units.map((u) => join(dir, u))]);
  assert.equal(`${stdout}${stderr}`.trim(), '');
});

test('the gateway unit runs without root, binds :80/:443 by capability, reloads with SIGHUP and drains on stop', async () => {
  const text = await readFile(join(root, 'deploy/systemd/meshgate-gateway.service'), 'utf8');
  const has = (line: string) => assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  has('DynamicUser=yes');
  has('AmbientCapabilities=CAP_NET_BIND_SERVICE');
  has('CapabilityBoundingSet=CAP_NET_BIND_SERVICE');
  has('NoNewPrivileges=yes');
  has('ProtectSystem=strict');
  has('ExecReload=/bin/kill -HUP $MAINPID');
  has('KillMode=mixed');
  assert.match(text, /^ExecStart=\/usr\/local\/bin\/meshgate gateway --configFile=\/etc\/meshgate\/gateway\.yml /m);
});

test('the sample static configuration loads as the gateway reads it', async () => {
  const config = await loadStaticConfig(join(root, 'deploy/gateway/gateway.yml'));
  assert.deepEqual(Object.keys(config.entryPoints).sort(), ['traefik', 'web', 'websecure']);
  assert.equal(config.entryPoints.web!.http!.redirections!.entryPoint.to, 'websecure');
  assert.equal(config.providers.file!.directory, '/etc/meshgate/dynamic');
  assert.equal(config.providers.consulCatalog!.exposedByDefault, false);
  assert.equal(config.log!.filePath, '/var/log/meshgate-gateway/gateway.log');
});
