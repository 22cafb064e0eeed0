// A node's namespaces beyond its network namespace: a persistent mount namespace in which per-node
// directories are bind-mounted over /etc/cni/net.d, /opt/cni/bin, /run/tabby, /var/lib/tabby and
// /var/log/tabby, and a UTS namespace whose hostname is the node's name. Programs entered into
// them run with production paths and see only their own node's files.
//
// Propagation: the node's mounts are slaves of the host's. The node's own bind mounts never reach
// the host; mounts the host makes later do reach the node. That second direction is what a real
// node has when the runtime (containerd) creates a pod's /run/netns/<name> and the CNI plugin, in
// the same mount namespace, opens it: the lab creates pod namespaces on the host and the node's
// CNI plugin sees them. The namespace files live in `<state>/ns`, a private bind mount (the kernel
// refuses to bind a mount namespace file where it would propagate), and each node detaches its own
// copy of that directory so no node holds another node's namespaces.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { NODE_DIRS, type LabPlan, type NodePlan } from './plan.js';
import { type LabState, recordMade } from './state.js';
import { run } from './sys.js';

/** Creates the private mount that holds the lab's persistent namespace files. */
export async function createNamespaceDir(state: LabState, plan: LabPlan): Promise<void> {
  mkdirSync(plan.nsDir, { recursive: true });
  recordMade(state, { kind: 'mount', target: plan.nsDir });
  await run('mount', ['--bind', plan.nsDir, plan.nsDir]);
  await run('mount', ['--make-private', plan.nsDir]);
}

/**
 * Makes sure every directory a node mounts over exists on the host (a bind mount needs a target),
 * recording the ones the lab had to create so `down` can remove them again.
 */
export function ensureMountTargets(state: LabState, dirs: typeof NODE_DIRS = NODE_DIRS): void {
  for (const { target } of dirs) {
    const missing: string[] = [];
    for (let p = target; p !== '/' && !existsSync(p); p = dirname(p)) missing.unshift(p);
    for (const p of missing) {
      recordMade(state, { kind: 'dir', path: p });
      mkdirSync(p);
    }
  }
}

const SETUP_SCRIPT = [
  'set -e',
  // Drop this namespace's copy of the namespace-file directory (see the header).
  'umount -l "$1"',
  'hostname "$2"',
  'shift 2',
  'while [ $# -gt 0 ]; do mount --bind "$1" "$2"; shift 2; done',
].join('\n');

/** Creates the node's per-node directories and its mount + UTS namespaces. */
export async function createNodeNamespaces(state: LabState, plan: LabPlan, node: NodePlan, dirs: typeof NODE_DIRS = NODE_DIRS): Promise<void> {
  const binds: string[] = [];
  for (const d of dirs) {
    const source = `${node.dir}/${d.source}`;
    mkdirSync(source, { recursive: true });
    binds.push(source, d.target);
  }
  for (const f of [node.mountNs, node.utsNs]) {
    writeFileSync(f, '');
    recordMade(state, { kind: 'mount', target: f });
  }
  await run('unshare', [
    `--mount=${node.mountNs}`,
    `--uts=${node.utsNs}`,
    '--propagation',
    'slave',
    '--',
    'sh',
    '-c',
    SETUP_SCRIPT,
    'tabby-lab-node-setup',
    plan.nsDir,
    node.name,
    ...binds,
  ]);
}
