/**
 * The peer: Debian's etcd (package etcd-server), started on 127.0.0.1 with free ports and a temporary data dir (the
 * helper the etcd store's tests use), and driven through its v3 HTTP/JSON gateway with the same undici client that
 * drives meshgate. etcd acknowledges a put after its WAL is fsynced (batched across concurrent proposals), which is
 * the contract meshgate's sqlite store keeps.
 */
export { etcdBinary, etcdVersion, startEtcd, type EtcdProcess } from '../../test/helpers/etcd.ts';

export const b64 = (s: string): string => Buffer.from(s).toString('base64');
