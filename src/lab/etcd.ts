// The lab's etcd: a real etcd (/usr/bin/etcd) in its own network namespace on the underlay, with
// its data under the lab's state dir.
//
// Nodes reach it at http://198.18.0.2:2379 over the underlay. The host has no route into the lab,
// so `tabby lab` itself talks to etcd through a unix socket etcd also listens on, in the state dir
// (`unix://etcd.sock:2379` is relative to etcd's working directory, which is the state dir).

import http from 'node:http';
import { LabError } from './errors.js';
import { ETCD_CLIENT_PORT, ETCD_SOCKET, type LabPlan } from './plan.js';
import { type DaemonHandle, startDaemon } from './processes.js';
import { type LabState, recordMade } from './state.js';
import { SYSTEM_PATH, inNamespaces } from './sys.js';

export const ETCD_BINARY = process.env.TABBY_LAB_ETCD ?? '/usr/bin/etcd';

/** GET `path` from etcd over its unix socket; resolves with the status code (0 if unreachable). */
function getViaSocket(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

export async function startEtcd(state: LabState, plan: LabPlan, timeoutMs = 20_000): Promise<DaemonHandle> {
  const { etcd } = plan;
  const name = etcd.netns;
  const argv = [
    ...inNamespaces({ netns: etcd.netns }),
    ETCD_BINARY,
    `--name=${name}`,
    `--data-dir=${etcd.dataDir}`,
    `--listen-client-urls=${etcd.endpoint},http://127.0.0.1:${ETCD_CLIENT_PORT},unix://${ETCD_SOCKET}`,
    `--advertise-client-urls=${etcd.endpoint}`,
    '--listen-peer-urls=http://127.0.0.1:2380',
    '--initial-advertise-peer-urls=http://127.0.0.1:2380',
    `--initial-cluster=${name}=http://127.0.0.1:2380`,
    '--logger=zap',
    '--log-level=warn',
  ];
  const handle = await startDaemon(argv, {
    env: { PATH: SYSTEM_PATH },
    logFile: `${plan.stateDir}/etcd.log`,
    cwd: plan.stateDir,
  });
  recordMade(state, { kind: 'process', pid: handle.pid, startTime: handle.startTime, role: 'etcd' });
  const deadline = Date.now() + timeoutMs;
  while ((await getViaSocket(etcd.socket, '/health')) !== 200) {
    if (Date.now() > deadline) {
      throw new LabError('Timeout', `etcd did not become healthy within ${timeoutMs} ms (log: ${plan.stateDir}/etcd.log)`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return handle;
}
