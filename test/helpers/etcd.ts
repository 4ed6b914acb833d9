/**
 * A real etcd for tests and benchmarks: Debian's etcd (package etcd-server, installed by
 * scripts/install-test-deps.sh), started on 127.0.0.1 with free ports and a temporary data dir, removed on stop.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server.ts';

export interface EtcdProcess {
  readonly url: string;
  readonly version: string;
  stop(): Promise<void>;
}

export function etcdBinary(): string | undefined {
  for (const candidate of ['etcd', '/usr/bin/etcd', '/usr/sbin/etcd']) {
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

export function etcdVersion(bin: string): string {
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  return /etcd Version:\s*(\S+)/.exec(out)?.[1] ?? out.split('\n')[0]!.trim();
}

export async function startEtcd(bin = etcdBinary()): Promise<EtcdProcess> {
  if (!bin) throw new Error('etcd is not installed (scripts/install-test-deps.sh installs etcd-server)');
  const dataDir = mkdtempSync(join(tmpdir(), 'meshgate-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child: ChildProcess = spawn(
    bin,
    [
      '--name', 'meshgate-test', '--data-dir', dataDir,
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `meshgate-test=${peer}`, '--initial-cluster-state', 'new',
      '--logger', 'zap', '--log-level', 'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`etcd exited early (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${client}/health`);
      const body = (await res.json()) as { health?: string };
      if (res.ok && body.health === 'true') break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`etcd did not become healthy: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: client,
    version: etcdVersion(bin),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface EtcdCluster {
  /** Every member's client URL, in member order. */
  readonly urls: string[];
  /** Kills one member (SIGKILL) and waits for it to exit; the others keep quorum while a majority lives. */
  kill(member: number): Promise<void>;
  stop(): Promise<void>;
}

/** A `size`-member etcd cluster on 127.0.0.1 (static bootstrap), healthy once every member answers /health. */
export async function startEtcdCluster(size = 3, bin = etcdBinary()): Promise<EtcdCluster> {
  if (!bin) throw new Error('etcd is not installed (scripts/install-test-deps.sh installs etcd-server)');
  const members: Array<{ name: string; dataDir: string; client: string; peer: string }> = [];
  for (let i = 0; i < size; i++) {
    members.push({
      name: `meshgate-test-${i}`,
      dataDir: mkdtempSync(join(tmpdir(), 'meshgate-etcd-')),
      client: `http://127.0.0.1:${await freePort()}`,
      peer: `http://127.0.0.1:${await freePort()}`,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peer}`).join(',');
  const token = `meshgate-test-${process.pid}-${Date.now()}`;
  const children = members.map((m) => {
    const child = spawn(
      bin,
      [
        '--name', m.name, '--data-dir', m.dataDir,
        '--listen-client-urls', m.client, '--advertise-client-urls', m.client,
        '--listen-peer-urls', m.peer, '--initial-advertise-peer-urls', m.peer,
        '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', token,
        '--logger', 'zap', '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    return { child, exited, stderr: () => stderr };
  });
  const stopAll = async (): Promise<void> => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    for (const m of members) rmSync(m.dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (let i = 0; i < size; i++) {
    for (;;) {
      if (children[i]!.child.exitCode !== null) {
        await stopAll();
        throw new Error(`etcd member ${i} exited early: ${children[i]!.stderr()}`);
      }
      try {
        const res = await fetch(`${members[i]!.client}/health`);
        const body = (await res.json()) as { health?: string };
        if (res.ok && body.health === 'true') break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) {
        await stopAll();
        throw new Error(`etcd cluster did not become healthy: ${children[i]!.stderr()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    urls: members.map((m) => m.client),
    async kill(member) {
      const c = children[member]!;
      if (c.child.exitCode === null) c.child.kill('SIGKILL');
      await c.exited;
    },
    stop: stopAll,
  };
}
