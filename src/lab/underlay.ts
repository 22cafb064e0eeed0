// The lab's underlay: a switch namespace with one bridge per subnet (routing between them), and
// veth attachments that plug a node's or etcd's namespace into its subnet's bridge.
//
// Every link is created directly inside a lab namespace (`ip -n`), never in the host's: the host
// sees no lab interface and gets no route into the lab; the switch has no route out (it has no
// uplink), so nothing the lab sends can leave the namespaces the lab made. Deleting a namespace
// deletes its links, which is how `down` removes them.

import { LabError } from './errors.js';
import type { AttachmentPlan, LabPlan } from './plan.js';
import { type LabState, recordMade } from './state.js';
import { run, runIn } from './sys.js';

/** Runs several `ip` commands in one process inside `netns` (stops at the first failure). */
export async function ipBatch(netns: string, commands: readonly string[]): Promise<void> {
  await run('ip', ['-n', netns, '-batch', '-'], { input: commands.join('\n') + '\n' });
}

/** Sets sysctls inside a network namespace (net.* keys are per namespace). */
export async function sysctlIn(netns: string, settings: Readonly<Record<string, string>>): Promise<void> {
  const args = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  await runIn({ netns }, ['sysctl', '-q', '-w', ...args]);
}

/** Records and creates a network namespace (lo up, IPv6 DAD off: lab addresses are unique by plan). */
export async function addNetns(state: LabState, name: string): Promise<void> {
  recordMade(state, { kind: 'netns', name });
  await run('ip', ['netns', 'add', name]);
  await sysctlIn(name, { 'net.ipv6.conf.all.accept_dad': '0', 'net.ipv6.conf.default.accept_dad': '0' });
  await ipBatch(name, ['link set lo up']);
}

export async function deleteNetns(name: string): Promise<boolean> {
  const r = await run('ip', ['netns', 'delete', name], { allowFailure: true });
  if (r.code === 0) return true;
  if (/No such file|does not exist/i.test(r.stderr)) return false;
  throw new LabError('CommandFailed', `ip netns delete ${name} failed: ${r.stderr.trim()}`);
}

/** The switch: bridges with the subnets' gateway addresses, forwarding between subnets. */
export async function createSwitch(state: LabState, plan: LabPlan): Promise<void> {
  await addNetns(state, plan.switchNetns);
  await sysctlIn(plan.switchNetns, { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' });
  const cmds: string[] = [];
  for (const s of plan.subnets) {
    const prefix4 = s.cidr4.split('/')[1]!;
    const prefix6 = s.cidr6.split('/')[1]!;
    cmds.push(
      `link add ${s.bridge} type bridge`,
      `addr add ${s.gateway4}/${prefix4} dev ${s.bridge}`,
      `addr add ${s.gateway6}/${prefix6} dev ${s.bridge} nodad`,
      `link set ${s.bridge} up`,
    );
  }
  await ipBatch(plan.switchNetns, cmds);
}

/**
 * Plugs `att.netns` (already created) into its subnet: a veth pair whose switch end joins the
 * bridge and whose other end is `eth0` with the planned addresses and default routes via the
 * switch (which has nowhere further to send them).
 */
export async function attach(plan: LabPlan, att: AttachmentPlan): Promise<void> {
  const subnet = plan.subnets[att.subnet];
  if (subnet === undefined) throw new LabError('InvalidArgument', `${att.netns} is planned on subnet ${att.subnet}, which the lab does not have`);
  await ipBatch(plan.switchNetns, [
    `link add ${att.switchPort} type veth peer name eth0 netns ${att.netns}`,
    `link set ${att.switchPort} master ${subnet.bridge} up`,
  ]);
  await ipBatch(att.netns, [
    `addr add ${att.address4}/${subnet.cidr4.split('/')[1]} dev eth0`,
    `addr add ${att.address6}/${subnet.cidr6.split('/')[1]} dev eth0 nodad`,
    'link set eth0 up',
    `route add default via ${subnet.gateway4} dev eth0`,
    `route add ::/0 via ${subnet.gateway6} dev eth0`,
  ]);
}
