// `tabby lab up`: the cluster on one machine, step by step, each step recorded before it is made.
//
// Order: state dir → switch → etcd (its namespace, link, process) → datastore bootstrap and the
// default pools → nodes (namespaces, links, `tabby node`) in parallel → wait for every agent's
// readiness → pods from -f, if given. A failure stops `up` and leaves what was made for
// inspection; `tabby lab down` removes it.

import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type LabCluster, openCluster } from './cluster.js';
import { labNetnsNames, mountsUnder } from './down.js';
import { LabError } from './errors.js';
import { startEtcd } from './etcd.js';
import { createNamespaceDir, ensureMountTargets } from './node-namespaces.js';
import { createNode, startNodeAgent, waitNodeReady } from './nodes.js';
import { type Encapsulation, type LabPlan, RR_CLUSTER_ID, type TorFlavour, planLab, vxlanModeOf } from './plan.js';
import { startTor, torPeers } from './tor.js';
import { kindInfo, type ResourceObject } from '../model/index.js';
import type { Progress } from './progress.js';
import { type LabState, lockLab, readState, writeState } from './state.js';
import { addNetns, attach, createSwitch } from './underlay.js';

export interface LabTools {
  /** dist/bin of the tabby build: tabby.cjs (run as `tabby node`) and tabby-probe. */
  readonly binDir: string;
  readonly progress: Progress;
}

export const probeBinOf = (tools: { readonly binDir: string }): string => `${tools.binDir}/tabby-probe`;

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new LabError('NotRoot', 'tabby lab needs root: it creates network and mount namespaces, links and mounts (run it with sudo)');
  }
}

function refuseExisting(plan: LabPlan): void {
  const leftovers = [
    ...(readState(plan.stateDir) ? [plan.stateDir] : []),
    ...labNetnsNames(plan.name).map((n) => `netns ${n}`),
    ...mountsUnder(plan.stateDir).map((m) => `mount ${m}`),
  ];
  if (leftovers.length > 0) {
    throw new LabError('LabExists', `lab ${plan.name} already exists (${leftovers.slice(0, 3).join(', ')}${leftovers.length > 3 ? ', ...' : ''}); run \`tabby lab down --name ${plan.name}\` first`);
  }
}

/** The directories above the state dir that do not exist yet, outermost first. */
function missingAncestors(dir: string): string[] {
  const missing: string[] = [];
  for (let p = dirname(dir); p !== '/' && !existsSync(p); p = dirname(p)) missing.unshift(p);
  return missing;
}

export interface UpOptions {
  readonly name: string;
  readonly nodes: number;
  readonly subnets?: number;
  readonly encapsulation?: Encapsulation;
  readonly routeReflectors?: number;
  readonly tor?: TorFlavour;
}

export async function labUp(tools: LabTools, opts: UpOptions): Promise<{ state: LabState; cluster: LabCluster; release: () => void }> {
  requireRoot();
  const plan = planLab(opts.name, opts.nodes, opts.subnets ?? 1, opts.encapsulation, { ...(opts.routeReflectors ? { routeReflectors: opts.routeReflectors } : {}), ...(opts.tor ? { tor: opts.tor } : {}) });
  refuseExisting(plan);
  const { progress } = tools;
  const ancestors = missingAncestors(plan.stateDir);
  mkdirSync(plan.stateDir, { recursive: true });
  const release = await lockLab(plan.stateDir, 'up');
  const state: LabState = {
    version: 1,
    name: plan.name,
    createdAt: new Date().toISOString(),
    phase: 'starting',
    plan,
    made: [...ancestors.map((path) => ({ kind: 'dir' as const, path })), { kind: 'dir', path: plan.stateDir, tree: true }],
    pods: [],
  };
  writeState(state);
  let cluster: LabCluster | undefined;
  try {
    progress.step(`lab ${plan.name}: state in ${plan.stateDir}`);
    ensureMountTargets(state);
    await createNamespaceDir(state, plan);
    await createSwitch(state, plan);
    progress.step(`switch ${plan.switchNetns}: ${plan.subnets.map((s) => `${s.bridge} ${s.cidr4} ${s.cidr6}`).join(', ')}`);

    await addNetns(state, plan.etcd.netns);
    await attach(plan, plan.etcd);
    await startEtcd(state, plan);
    progress.step(`etcd ${plan.etcd.endpoint} ready (netns ${plan.etcd.netns}, data ${plan.etcd.dataDir})`);

    await addNetns(state, plan.external.netns);
    await attach(plan, plan.external);
    progress.step(`external host ${plan.external.address4} ${plan.external.address6} (netns ${plan.external.netns}): no route to pods`);

    if (plan.tor) {
      await startTor(state, plan, plan.tor);
      progress.step(`ToR ${plan.tor.flavour} ${plan.tor.address4} ${plan.tor.address6} AS ${plan.tor.asNumber} (netns ${plan.tor.netns})`);
    }

    cluster = await openCluster(plan);
    const pools = await cluster.initialise(vxlanModeOf(plan.encapsulation));
    progress.step(`datastore initialised (encapsulation ${plan.encapsulation}); pools ${pools.join(', ')}`);

    await Promise.all(
      plan.nodes.map(async (node) => {
        await createNode(state, plan, node);
        const agent = await startNodeAgent(state, plan, node, tools.binDir);
        progress.step(`${node.name}: ${node.address4} ${node.address6} (netns ${node.netns}), tabby node pid ${agent.pid}`);
        await waitNodeReady(node, agent, probeBinOf(tools));
        progress.step(`${node.name}: ready`);
      }),
    );
    await configureBgp(cluster, plan, progress);
    state.phase = 'up';
    writeState(state);
    progress.step(`lab ${plan.name} is up: ${plan.nodes.length} node(s)`);
    return { state, cluster, release };
  } catch (e) {
    await cluster?.close();
    release();
    throw e;
  }
}

/**
 * The BGP topology, written the way Calico's docs have a user write it once the nodes exist:
 * route reflectors (Node routeReflectorClusterID + label, one BGPPeer selecting them, then the
 * mesh off) and the ToR's global BGPPeers. The nodes' BGP daemons pick it up live.
 */
async function configureBgp(cluster: LabCluster, plan: LabPlan, progress: Progress): Promise<void> {
  const rr = plan.routeReflectors ?? 0;
  const node = kindInfo('Node');
  for (const n of plan.nodes.slice(0, rr)) {
    await cluster.client.patch(node, undefined, n.name, { metadata: { labels: { 'route-reflector': 'true' } }, spec: { bgp: { routeReflectorClusterID: RR_CLUSTER_ID } } });
  }
  if (rr > 0) {
    await cluster.apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'peer-with-route-reflectors' }, spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" } } as ResourceObject);
    await cluster.apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: false } } as ResourceObject);
    progress.step(`route reflectors: ${plan.nodes.slice(0, rr).map((n) => n.name).join(', ')} (cluster ID ${RR_CLUSTER_ID}); node-to-node mesh off`);
  }
  if (plan.tor) {
    for (const p of torPeers(plan.tor)) await cluster.apply(p as ResourceObject);
    progress.step(`every node peers with the ToR (global BGPPeers tor, tor-v6 → AS ${plan.tor.asNumber})`);
  }
}
