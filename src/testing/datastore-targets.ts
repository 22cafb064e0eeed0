// Test helper: the backends the contract and syncer suites run on, each as a ContractTarget —
// a MemoryDatastore, or an EtcdDatastore on a fresh real etcd (plain or TLS) with a TCP proxy
// to take a second client's connection away on demand.

import { readFileSync } from 'node:fs';
import type { ContractTarget } from '../datastore/contract.test-suite.js';
import { EtcdDatastore, type EtcdDatastoreOptions } from '../datastore/index.js';
import { MemoryDatastore } from '../datastore/index.js';
import { type EtcdFixture, startEtcd } from './etcd.js';
import { startTcpProxy } from './tcp-proxy.js';

/** Client options for a fixture etcd (its TLS files when it has them), with quick retries. */
export function etcdClientOptions(etcd: EtcdFixture, endpoints: string[] = etcd.endpoints): EtcdDatastoreOptions {
  const tls = etcd.tls;
  return {
    endpoints,
    watchBackoff: { minMs: 20, maxMs: 250 },
    ...(tls ? { ca: readFileSync(tls.caFile), cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : {}),
  };
}

export async function memoryTarget(): Promise<ContractTarget> {
  const store = new MemoryDatastore();
  return {
    store,
    compact: async (revision) => store.compact(revision),
    disconnectable: async () => ({
      store,
      disconnect: async () => store.suspendWatches(),
      reconnect: async () => store.resumeWatches(),
      close: async () => store.resumeWatches(),
    }),
    close: () => store.close(),
  };
}

export async function etcdTarget(tls: boolean): Promise<ContractTarget & { etcd: EtcdFixture }> {
  const etcd = await startEtcd({ tls });
  const store = new EtcdDatastore(etcdClientOptions(etcd));
  const url = new URL(etcd.endpoints[0]!);
  return {
    etcd,
    store,
    compact: (revision) => etcd.compact(revision),
    disconnectable: async () => {
      const proxy = await startTcpProxy('127.0.0.1', Number(url.port));
      const viaProxy = new EtcdDatastore(etcdClientOptions(etcd, [`${url.protocol}//127.0.0.1:${proxy.port}`]));
      return {
        store: viaProxy,
        disconnect: async () => proxy.cut(),
        reconnect: async () => proxy.heal(),
        close: async () => {
          await viaProxy.close();
          await proxy.close();
        },
      };
    },
    close: async () => {
      await store.close();
      await etcd.stop();
    },
  };
}
