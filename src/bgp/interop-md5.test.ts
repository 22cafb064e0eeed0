// TCP-MD5 (RFC 2385) and GTSM (RFC 5082) between Tabby and BIRD 2 / FRR in network namespaces,
// through tabby-sockopt (the listener's keys and TTL, the outgoing relay):
// - MD5: Established with Tabby active (BIRD passive: Tabby's relay connection) and with Tabby
//   passive (BIRD connects to Tabby's keyed listener), each checked on the TCP connection's
//   ports; a wrong password never establishes and the kernel's TCPMD5Failure counter moves;
// - GTSM: Established with BIRD's `ttl security on` both ways; a peer one routed hop further
//   than ttlSecurity allows never establishes (TCPMinTTLDrop moves for our outgoing attempts and
//   Tabby refuses its incoming ones by their SYN's TTL), then does once ttlSecurity counts the hop;
// - IPv6 sessions with both, either side connecting; FRR with both on one session;
// - no relay outlives its attempt or the speaker, and no key shows in argv, logs or status.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { NetLab, must, sh, waitFor } from './testing/netlab.js';
import { BirdRouter, FrrRouter, type Neighbor, type Router, TabbyRouter } from './testing/routers.js';

// Our own lab id (addresses 198.18.57.x, namespaces tbs-57-…), apart from the other interop tests'.
const LAB = 57;
const AS_T = 65001;
const ROUTED = `198.19.${LAB}`;

/** TcpExt counters of a node's namespace (/proc/net/netstat is per namespace). */
async function tcpExt(lab: NetLab, node: string): Promise<Record<string, number>> {
  const r = await lab.exec(node, 'cat', ['/proc/net/netstat']);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

/** Tabby's side of the established TCP connection to `peer`: its local port. */
async function localPortTo(lab: NetLab, peer: string): Promise<number | undefined> {
  const r = await lab.exec('t', 'ss', ['-Htn', 'state', 'established', 'dst', peer.includes(':') ? `[${peer}]` : peer]);
  const line = r.stdout.trim().split('\n').find((l) => l.trim());
  if (!line) return undefined;
  const local = line.trim().split(/\s+/)[2]!;
  return Number(local.slice(local.lastIndexOf(':') + 1));
}

/** Command lines of the tabby-sockopt processes in a node's namespace (zombies count as gone). */
async function relaysIn(lab: NetLab, node: string): Promise<string[]> {
  const pids = (await sh('ip', ['netns', 'pids', lab.node(node).ns])).stdout.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes('tabby-sockopt') && !/\) Z /.test(stat)) out.push(cmd);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

describe('TCP-MD5 and GTSM interop', { concurrency: false }, () => {
  let lab: NetLab;
  const running: Router[] = [];
  let tabby: TabbyRouter;
  const n = (name: string) => lab.node(name);
  const neighborsOfTabby = (farHops: number): Neighbor[] => [
    { address: n('b1').v4, as: 65011, family: 'ipv4', password: 'alpha-1' },
    { address: n('b2').v4, as: 65012, family: 'ipv4', password: 'bravo two', passive: true },
    { address: n('b3').v4, as: 65013, family: 'ipv4', password: 'charlie-3' },
    { address: n('g1').v4, as: 65021, family: 'ipv4', ttlSecurity: 1 },
    { address: n('g2').v4, as: 65022, family: 'ipv4', ttlSecurity: 1, passive: true },
    { address: n('f').v4, as: 65023, family: 'ipv4', ttlSecurity: farHops },
    { address: n('x').v4, as: 65031, family: 'ipv4', password: 'delta-4', ttlSecurity: 1 },
    { address: n('b1').v6, as: 65011, family: 'ipv6', password: 'echo-5', ttlSecurity: 1 },
    { address: n('b2').v6, as: 65012, family: 'ipv6', password: 'foxtrot-6', ttlSecurity: 1, passive: true },
  ];
  const startTabby = async (farHops: number) => {
    tabby = new TabbyRouter(lab, { node: 't', as: AS_T, routerId: n('t').v4, originate: ['10.57.0.0/24'], neighbors: neighborsOfTabby(farHops) });
    await tabby.start();
    running.push(tabby);
  };
  type Extra = Omit<Neighbor, 'address' | 'as' | 'family'>;
  const peerOf = (node: string, as: number, nb: Extra, kind: 'bird' | 'frr' = 'bird', v6?: Extra): Router => {
    const neighbors: Neighbor[] = [{ address: n('t').v4, as: AS_T, family: 'ipv4', ...nb }, ...(v6 ? [{ address: n('t').v6, as: AS_T, family: 'ipv6' as const, ...v6 }] : [])];
    const spec = { node, as, routerId: n(node).v4, originate: [`10.57.${n(node).index}.0/24`, ...(v6 ? [`2001:db8:57${n(node).index}::/48`] : [])], neighbors };
    return kind === 'bird' ? new BirdRouter(lab, spec) : new FrrRouter(lab, spec);
  };
  const peers: Record<string, Router> = {};

  before(async () => {
    lab = await NetLab.create(LAB, ['t', 'b1', 'b2', 'b3', 'g1', 'g2', 'r', 'f', 'x']);
    // f sits one routed hop behind r: its bridge port goes, a veth to r carries its address.
    const f = n('f');
    const r = n('r');
    await must('ip', ['-n', f.ns, 'addr', 'flush', 'dev', 'eth0']);
    await must('ip', ['-n', f.ns, 'link', 'set', 'eth0', 'down']);
    await must('ip', ['-n', r.ns, 'link', 'add', 'rf', 'type', 'veth', 'peer', 'name', 'fr', 'netns', f.ns]);
    await must('ip', ['-n', r.ns, '-batch', '-'], `addr add ${ROUTED}.1/24 dev rf\nlink set rf up\nroute add ${f.v4}/32 via ${ROUTED}.2\n`);
    await must('ip', ['netns', 'exec', r.ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await must('ip', ['-n', f.ns, '-batch', '-'], `addr add ${ROUTED}.2/24 dev fr\naddr add ${f.v4}/32 dev fr\nlink set fr up\nroute add 198.18.${LAB}.0/24 via ${ROUTED}.1 src ${f.v4}\n`);
    await must('ip', ['-n', n('t').ns, 'route', 'add', `${f.v4}/32`, 'via', r.v4]);
    const ping = await lab.exec('t', 'ping', ['-c', '1', '-W', '5', f.v4]);
    assert.equal(ping.code, 0, `t reaches f through r: ${ping.stdout}`);
    assert.match(ping.stdout, /ttl=63/, 'one routed hop between t and f');

    peers.b1 = peerOf('b1', 65011, { password: 'alpha-1', passive: true }, 'bird', { password: 'echo-5', ttlSecurity: 1, passive: true });
    peers.b2 = peerOf('b2', 65012, { password: 'bravo two' }, 'bird', { password: 'foxtrot-6', ttlSecurity: 1 });
    peers.b3 = peerOf('b3', 65013, { password: 'wrong-3' });
    peers.g1 = peerOf('g1', 65021, { ttlSecurity: 1, passive: true });
    peers.g2 = peerOf('g2', 65022, { ttlSecurity: 1 });
    peers.f = peerOf('f', 65023, { ttlSecurity: 2 });
    peers.x = peerOf('x', 65031, { password: 'delta-4', ttlSecurity: 1 }, 'frr');
    for (const p of Object.values(peers)) {
      await p.start();
      running.push(p);
    }
    await startTabby(1);
  });

  after(async () => {
    for (const r of running.splice(0)) await r.stop('SIGKILL').catch(() => {});
    await lab?.destroy();
  });

  const established = (node: string, timeoutMs = 60_000) =>
    waitFor(`${node} Established on both sides`, async () => ((await tabby.established(n(node).v4)) && (await peers[node]!.established(n('t').v4)) ? true : undefined), timeoutMs);

  it('MD5: Established with Tabby connecting (its relay) and with Tabby listening (its keyed listener)', async () => {
    await established('b1');
    await established('b2');
    const active = await localPortTo(lab, n('b1').v4);
    const passive = await localPortTo(lab, n('b2').v4);
    assert.ok(active !== undefined && active !== 179, `Tabby connected to b1 (local port ${active})`);
    assert.equal(passive, 179, 'b2 connected to Tabby\'s listener');
    // Routes flow over the signed sessions.
    await waitFor('b1\'s prefix at Tabby', async () => ((await tabby.rib('ipv4')).has('10.57.2.0/24') ? true : undefined));
    await waitFor('Tabby\'s prefix at b2', async () => ((await peers.b2!.rib('ipv4')).has('10.57.0.0/24') ? true : undefined));
  });

  it('MD5: a wrong password never establishes, and the kernel counts the bad signatures', async () => {
    const before = await tcpExt(lab, 't');
    const beforePeer = await tcpExt(lab, 'b3');
    // Both ends keep trying (connect retry 1 s): wait until both kernels have refused segments.
    await waitFor('TCPMD5Failure to move on both sides', async () => {
      const now = await tcpExt(lab, 't');
      const peer = await tcpExt(lab, 'b3');
      return now.TCPMD5Failure! > before.TCPMD5Failure! && peer.TCPMD5Failure! > beforePeer.TCPMD5Failure! ? true : undefined;
    });
    const after = await tcpExt(lab, 't');
    process.stdout.write(`# wrong password: Tabby's namespace TCPMD5Failure ${before.TCPMD5Failure} → ${after.TCPMD5Failure}\n`);
    assert.equal(await tabby.established(n('b3').v4), false);
    assert.equal(await peers.b3!.established(n('t').v4), false);
    assert.equal(await localPortTo(lab, n('b3').v4), undefined, 'no TCP connection with b3 is up');
    const st = await tabby.peer(n('b3').v4);
    const all = await tabby.status();
    assert.ok(!JSON.stringify(all).includes('charlie-3'), 'the status never shows a key');
    const shown = (addr: string) => all.peers.find((p) => p.address === addr) as unknown as { tcpMd5?: boolean; ttlSecurity?: number };
    assert.deepEqual([shown(n('b3').v4).tcpMd5, shown(n('b3').v4).ttlSecurity], [true, undefined]);
    assert.deepEqual([shown(n('g1').v4).tcpMd5, shown(n('g1').v4).ttlSecurity], [undefined, 1]);
    assert.notEqual(st.state, 'Established');
    assert.ok(!lab.logOf('tabby-t').includes('charlie-3') && !lab.logOf('tabby-t').includes('alpha-1'), 'the log never shows a key');
    // Each failed attempt's relay ended: at most one per peer Tabby connects to through a relay is alive.
    const relayed = neighborsOfTabby(1).filter((nb) => !nb.passive && (nb.password !== undefined || nb.ttlSecurity !== undefined)).length;
    const relays = await relaysIn(lab, 't');
    assert.ok(relays.length <= relayed, `relays alive in Tabby's namespace: ${relays.length}, relayed peers: ${relayed}`);
    assert.ok(relays.every((cmd) => !cmd.includes('charlie') && !cmd.includes('alpha')), 'keys are not in argv');
  });

  it('GTSM: Established with BIRD\'s ttl security, Tabby connecting and Tabby listening', async () => {
    await established('g1');
    await established('g2');
    const active = await localPortTo(lab, n('g1').v4);
    assert.ok(active !== undefined && active !== 179, `Tabby connected to g1 (local port ${active})`);
    assert.equal(await localPortTo(lab, n('g2').v4), 179, 'g2 connected to Tabby\'s listener');
    // Our segments leave with TTL 255 on both paths: BIRD's IP_MINTTL 255 would drop anything less.
    await waitFor('g2\'s prefix at Tabby', async () => ((await tabby.rib('ipv4')).has('10.57.6.0/24') ? true : undefined));
  });

  it('GTSM: a peer one routed hop beyond ttlSecurity never establishes; counting the hop lets it', async () => {
    const before = await tcpExt(lab, 't');
    await waitFor('our SYN-ACK-less attempts to f dropped by IP_MINTTL, and f\'s connection refused by its SYN\'s TTL', async () => {
      const now = await tcpExt(lab, 't');
      return now.TCPMinTTLDrop! > before.TCPMinTTLDrop! && lab.logOf('tabby-t').includes('GTSM: refused a connection from beyond the allowed hops') ? true : undefined;
    });
    const after = await tcpExt(lab, 't');
    process.stdout.write(`# far peer, ttlSecurity 1: Tabby's namespace TCPMinTTLDrop ${before.TCPMinTTLDrop} → ${after.TCPMinTTLDrop}\n`);
    assert.equal(await tabby.established(n('f').v4), false);
    assert.equal(await peers.f!.established(n('t').v4), false);
    assert.match(lab.logOf('tabby-t'), /arrived with TTL 254, below the 255 GTSM allows/);
    // The same peer with its hop counted (ttlSecurity 2: accept TTL 254 and up).
    await tabby.stop();
    running.splice(running.indexOf(tabby), 1);
    await startTabby(2);
    await established('f');
  });

  it('IPv6: password and ttl security on one session, Tabby connecting and Tabby listening', async () => {
    const up6 = (node: string) => waitFor(`${node} IPv6 session Established on both sides`, async () => ((await tabby.established(n(node).v6)) && (await peers[node]!.established(n('t').v6)) ? true : undefined), 60_000);
    await up6('b1');
    await up6('b2');
    const active = await localPortTo(lab, n('b1').v6);
    assert.ok(active !== undefined && active !== 179, `Tabby connected to b1 over IPv6 (local port ${active})`);
    assert.equal(await localPortTo(lab, n('b2').v6), 179, 'b2 connected to Tabby\'s listener over IPv6');
    await waitFor('b2\'s IPv6 prefix at Tabby', async () => ((await tabby.rib('ipv6')).has('2001:db8:573::/48') ? true : undefined));
  });

  it('FRR: password and ttl-security hops on one session', async () => {
    await established('x');
    await waitFor('x\'s prefix at Tabby', async () => ((await tabby.rib('ipv4')).has('10.57.9.0/24') ? true : undefined));
  });

  it('the relays die with a SIGKILLed speaker (PR_SET_PDEATHSIG)', async () => {
    assert.ok((await relaysIn(lab, 't')).length > 0, 'relays carry the sessions Tabby opened');
    await tabby.stop('SIGKILL');
    running.splice(running.indexOf(tabby), 1);
    await waitFor('no relay left in Tabby\'s namespace', async () => ((await relaysIn(lab, 't')).length === 0 ? true : undefined), 10_000);
  });
});
