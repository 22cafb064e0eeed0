// BFD (RFC 5880/5881) between Tabby and BIRD 2, FRR (bfdd) and another Tabby, in network
// namespaces: the BFD session comes Up on both ends, then the peer's link goes down and Tabby
// must notice within BFD's detection time — not the 30 s BGP hold time — tear the BGP session
// down and remove the peer's routes from the kernel. The time from `ip link set eth0 down` to
// the route's deletion (seen by `ip monitor route` in Tabby's namespace) is printed; it is
// asserted only loosely (under 3 s; the hold time is 30 s) because the host is shared and loaded.
// Then the link comes back and so do BFD, the session and the routes. And a peer that stops on
// purpose says AdminDown, which must not count as a failure (RFC 5882 §3.2): with graceful restart
// its routes stay. A peer frozen by SIGSTOP (TCP still open) is taken down by BFD too.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BFD, type SpeakerStatus, queryDaemon } from './index.js';
import { NetLab, sh, waitFor } from './testing/netlab.js';
import { type BfdSpec, BirdRouter, FrrRouter, type Router, type RouterSpec, TabbyRouter } from './testing/routers.js';

// A lab id of our own (addresses 198.18.<id>.x, namespaces tbs-<id>-…), apart from the fixed
// ids of the other interop tests.
const LAB = 100 + (process.pid % 140);
const PEER_ROUTE = '10.2.0.0/24';
const PEER_ROUTE_V6 = '2001:db8:1002::/64';

type Kind = 'tabby' | 'bird' | 'frr';
/** Tabby's defaults (`bfd: true`: 200 ms × 3) on both ends: detection in 600 ms. */
const BFD: BfdSpec = { minTxMs: DEFAULT_BFD.minTxMs, minRxMs: DEFAULT_BFD.minRxMs, multiplier: DEFAULT_BFD.multiplier };
const DETECT_MS = BFD.multiplier * Math.max(BFD.minTxMs, BFD.minRxMs);

async function kernelHas(lab: NetLab, node: string, prefix: string): Promise<boolean> {
  const r = await lab.exec(node, 'ip', ['-j', prefix.includes(':') ? '-6' : '-4', 'route', 'show', 'proto', '81']);
  return (JSON.parse(r.stdout || '[]') as { dst: string }[]).some((x) => x.dst === prefix);
}

describe('BFD interop', { concurrency: false }, () => {
  let lab: NetLab;
  const running: Router[] = [];
  const figures: string[] = [];

  before(async () => {
    lab = await NetLab.create(LAB, ['t', 'x']);
  });
  after(async () => {
    for (const r of running.splice(0)) await r.stop('SIGKILL').catch(() => {});
    await lab?.destroy();
    if (figures.length) process.stdout.write(`# BFD: peer gone (link down, or frozen) → its route removed from Tabby's kernel:\n${figures.map((f) => `#   ${f}\n`).join('')}`);
  });

  it('a frozen peer (SIGSTOP: its TCP connection stays open) is taken down by BFD, not after the hold time', async () => {
    const T = lab.node('t');
    const X = lab.node('x');
    const peer = new TabbyRouter(lab, { node: 'x', as: 65002, routerId: X.v4, originate: [PEER_ROUTE], neighbors: [{ address: T.v4, as: 65001, family: 'ipv4', bfd: BFD }] });
    const tabby = new TabbyRouter(lab, { node: 't', as: 65001, routerId: T.v4, originate: ['10.1.0.0/24'], neighbors: [{ address: X.v4, as: 65002, family: 'ipv4', bfd: BFD }] });
    let frozen: number | undefined;
    try {
      await peer.start();
      running.push(peer);
      await tabby.start();
      running.push(tabby);
      await waitFor('BFD Up and BGP established', async () => {
        const p = await tabby.peer(X.v4);
        return p.bfd?.state === 'Up' && p.state === 'Established' ? true : undefined;
      });
      await waitFor('the peer\'s route in Tabby\'s kernel', async () => ((await kernelHas(lab, 't', PEER_ROUTE)) ? true : undefined));
      // The peer's daemon: the one process in x's namespace running its configuration.
      const pids = (await sh('ip', ['netns', 'pids', X.ns])).stdout.split(/\s+/).filter(Boolean);
      frozen = pids.map(Number).find((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${peer.name}.yaml`);
        } catch {
          return false;
        }
      });
      assert.ok(frozen, 'the peer daemon\'s pid');
      const routeMon = lab.spawn('t', 'monitor-route-frozen', 'ip', ['-ts', 'monitor', 'route']);
      const deletedAt = new Promise<number>((resolve) => {
        let buf = '';
        routeMon.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          const m = new RegExp(`^\\[([^\\]]+)\\] Deleted ${PEER_ROUTE.replace(/\./g, '\\.')} `, 'm').exec(buf);
          if (m) resolve(new Date(m[1]!).getTime());
        });
      });
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      process.kill(frozen, 'SIGSTOP');
      const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error('the frozen peer\'s route was not removed within 20 s')), 20_000).unref());
      const ms = (await Promise.race([deletedAt, timeout])) - t0;
      figures.push(`tabby frozen by SIGSTOP: ${ms} ms (TCP still open; BFD detection ${DETECT_MS} ms; BGP hold time 30 s)`);
      process.stdout.write(`# BFD with a frozen Tabby: peer route removed ${ms} ms after SIGSTOP\n`);
      assert.ok(ms < 3000, `routes removed ${ms} ms after the peer froze: BFD should have beaten the 30 s hold time by far`);
      const p = await tabby.peer(X.v4);
      assert.equal(p.bfd!.diagnostic, 'Control Detection Time Expired');
      assert.match(p.lastError, /NOTIFICATION 6\/10/);
      await lab.kill('monitor-route-frozen');
    } finally {
      if (frozen) process.kill(frozen, 'SIGCONT');
      for (const r of running.splice(0)) await r.stop('SIGKILL');
      for (const n of ['t', 'x']) for (const f of ['-4', '-6']) await lab.exec(n, 'ip', [f, 'route', 'flush', 'proto', '81']);
    }
  });

  it('a peer stopping on purpose says AdminDown: not taken for a failure, and graceful restart keeps its routes', async () => {
    const T = lab.node('t');
    const X = lab.node('x');
    const peer = new TabbyRouter(lab, { node: 'x', as: 65002, routerId: X.v4, restartTime: 30, originate: [PEER_ROUTE], neighbors: [{ address: T.v4, as: 65001, family: 'ipv4', bfd: BFD }] });
    const tabby = new TabbyRouter(lab, { node: 't', as: 65001, routerId: T.v4, restartTime: 30, originate: ['10.1.0.0/24'], neighbors: [{ address: X.v4, as: 65002, family: 'ipv4', bfd: BFD }] });
    try {
      await peer.start();
      running.push(peer);
      await tabby.start();
      running.push(tabby);
      await waitFor('BFD Up and BGP established', async () => {
        const p = await tabby.peer(X.v4);
        return p.bfd?.state === 'Up' && p.state === 'Established' ? true : undefined;
      });
      await waitFor('the peer\'s route in Tabby\'s kernel', async () => ((await kernelHas(lab, 't', PEER_ROUTE)) ? true : undefined));
      // Packets §6.8.6 discards, sent from the peer's address: one with Keyed SHA1 authentication,
      // one for a discriminator Tabby never gave out. Counted, and the session does not notice.
      const discarded = async () => ((await queryDaemon(tabby.socket, { command: 'status' })) as SpeakerStatus).bfd!.discardedPackets;
      const before0 = await discarded();
      const send = [
        "const s = require('dgram').createSocket('udp4');",
        'const a = Buffer.alloc(52); a[0] = 0x20; a[1] = 0xc4; a[2] = 3; a[3] = 52; a.writeUInt32BE(7, 4); a.writeUInt32BE(9, 8); a[24] = 4; a[25] = 28;',
        'const b = Buffer.alloc(24); b[0] = 0x20; b[1] = 0xc0; b[2] = 3; b[3] = 24; b.writeUInt32BE(7, 4); b.writeUInt32BE(12345, 8);',
        `s.send(a, 3784, '${T.v4}', () => s.send(b, 3784, '${T.v4}', () => s.close()));`,
      ].join('\n');
      const sent = await lab.exec('x', process.execPath, ['-e', send]);
      assert.equal(sent.code, 0, sent.stderr);
      await waitFor('both packets discarded', async () => ((await discarded()) >= before0 + 2 ? true : undefined), 5000);
      assert.match((await tabby.cli(['metrics'])).stdout, /tabby_bgp_bfd_packets_discarded_total [1-9]/);
      assert.equal((await tabby.peer(X.v4)).bfd!.state, 'Up');
      // SIGTERM with graceful restart: the peer closes BGP without a NOTIFICATION and BFD with AdminDown.
      await peer.stop('SIGTERM');
      running.splice(running.indexOf(peer), 1);
      const p = await waitFor('Tabby to hear AdminDown', async () => {
        const q = await tabby.peer(X.v4);
        return q.bfd?.remoteState === 'AdminDown' && q.state !== 'Established' ? q : undefined;
      });
      assert.equal(p.bfd!.state, 'Down');
      assert.equal(p.bfd!.diagnostic, 'Neighbor Signaled Session Down');
      assert.doesNotMatch(p.lastError, /6\/10/, 'BGP was not torn down for BFD');
      assert.equal(p.stale, true, 'routes kept stale for the restart time');
      assert.ok(await kernelHas(lab, 't', PEER_ROUTE), 'still installed');
    } catch (e) {
      (e as Error).message += `\n--- tabby-t\n${lab.logOf('tabby-t').split('\n').slice(-30).join('\n')}\n--- tabby-x\n${lab.logOf('tabby-x').split('\n').slice(-30).join('\n')}`;
      throw e;
    } finally {
      for (const r of running.splice(0)) await r.stop('SIGKILL');
      for (const n of ['t', 'x']) for (const f of ['-4', '-6']) await lab.exec(n, 'ip', [f, 'route', 'flush', 'proto', '81']);
    }
  });

  for (const kind of ['tabby', 'bird', 'frr'] as Kind[]) {
    it(`with ${kind}: BFD comes Up, and a link going down removes the peer's routes within BFD's detection time`, async () => {
      const T = lab.node('t');
      const X = lab.node('x');
      // Between two Tabbies, an IPv6 session with BFD too (one BFD session per address).
      const v6 = kind === 'tabby';
      const peerSpec: RouterSpec = {
        node: 'x', as: 65002, routerId: X.v4, originate: [PEER_ROUTE, ...(v6 ? [PEER_ROUTE_V6] : [])],
        neighbors: [{ address: T.v4, as: 65001, family: 'ipv4', bfd: BFD }, ...(v6 ? [{ address: T.v6, as: 65001, family: 'ipv6' as const, bfd: BFD }] : [])],
      };
      const peer: Router = kind === 'tabby' ? new TabbyRouter(lab, peerSpec) : kind === 'bird' ? new BirdRouter(lab, peerSpec) : new FrrRouter(lab, peerSpec);
      const tabby = new TabbyRouter(lab, {
        node: 't', as: 65001, routerId: T.v4, originate: ['10.1.0.0/24'],
        neighbors: [{ address: X.v4, as: 65002, family: 'ipv4', bfd: BFD }, ...(v6 ? [{ address: X.v6, as: 65002, family: 'ipv6' as const, bfd: BFD }] : [])],
      });
      try {
        await peer.start();
        running.push(peer);
        await tabby.start();
        running.push(tabby);

        // Up on both ends, the session established, the peer's route installed.
        await waitFor('BFD Up at Tabby and BGP established', async () => {
          const p = await tabby.peer(X.v4);
          return p.bfd?.state === 'Up' && p.state === 'Established' ? p : undefined;
        });
        const peerBfd = async () =>
          peer instanceof BirdRouter || peer instanceof FrrRouter ? peer.bfdState(T.v4) : (await (peer as TabbyRouter).peer(T.v4)).bfd?.state;
        await waitFor(`BFD Up at ${kind}`, async () => ((await peerBfd())?.toLowerCase() === 'up' ? true : undefined));
        await waitFor('the peer\'s route in Tabby\'s kernel', async () => ((await kernelHas(lab, 't', PEER_ROUTE)) ? true : undefined));
        if (v6) {
          await waitFor('BFD Up over IPv6 and the IPv6 session established', async () => {
            const p = await tabby.peer(X.v6);
            return p.bfd?.state === 'Up' && p.state === 'Established' ? true : undefined;
          });
          await waitFor('the peer\'s IPv6 route in Tabby\'s kernel', async () => ((await kernelHas(lab, 't', PEER_ROUTE_V6)) ? true : undefined));
        }
        const up = await tabby.peer(X.v4);
        assert.equal(up.bfd!.remoteState, 'Up');
        assert.equal(up.bfd!.detectionTimeMs, DETECT_MS, 'the peer\'s multiplier × max(our Required Min RX, its Desired Min TX)');
        const table = (await tabby.cli(['status'])).stdout;
        assert.match(table, /\bBFD\b/);
        assert.match(table, new RegExp(`${X.v4.replace(/\./g, '\\.')}\\s+65002\\s+ebgp\\s+Established\\s+Up/${DETECT_MS}ms`));
        const metrics = (await tabby.cli(['metrics'])).stdout;
        // On a loaded host a stalled process can miss its detection time before the cut: count those.
        const spurious = up.bfd!.downTransitions;
        assert.match(metrics, new RegExp(`tabby_bgp_peer_bfd_state\\{peer="[^"]+",address="${X.v4.replace(/\./g, '\\.')}",as="65002"\\} 3`));
        assert.match(metrics, /tabby_bgp_peer_bfd_up\{[^}]*\} 1/);

        // The peer's link goes down. Tabby's own link stays up: only BFD can tell.
        // Both moments are stamped by `ip -ts monitor` (kernel events as they happen, same clock),
        // not by this loaded test process: x's eth0 going down, and the route leaving t's table.
        const routeMon = lab.spawn('t', `monitor-route-${kind}`, 'ip', ['-ts', 'monitor', 'route']);
        const linkMon = lab.spawn('x', `monitor-link-${kind}`, 'ip', ['-ts', 'monitor', 'link']);
        const stamp = (child: typeof routeMon, re: RegExp) => new Promise<number>((resolve) => {
          let buf = '';
          child.stdout!.on('data', (d: Buffer) => {
            buf += d.toString();
            const m = re.exec(buf);
            if (m) resolve(new Date(m[1]!).getTime());
          });
        });
        const deletedAt = stamp(routeMon, new RegExp(`^\\[([^\\]]+)\\] Deleted ${PEER_ROUTE.replace(/\./g, '\\.')} `, 'm'));
        const linkDownAt = stamp(linkMon, /^\[([^\]]+)\] \d+: eth0@\S+: <(?![^>]*\bUP\b)[^>]*>/m);
        await new Promise((r) => setTimeout(r, 300));
        const asked = Date.now();
        const down = await lab.exec('x', 'ip', ['link', 'set', 'eth0', 'down']);
        assert.equal(down.code, 0, down.stderr);
        const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error('the peer\'s route was not removed within 20 s')), 20_000).unref());
        const [t0, t1] = await Promise.race([Promise.all([linkDownAt, deletedAt]), timeout]);
        const ms = t1 - t0;
        // Tabby's own log says when BFD declared the peer down: the split between detection and kernel update.
        const bfdDown = lab.logOf('tabby-t').split('\n').filter((l) => l.includes('"BFD state changed"') && l.includes(`"peer":"${X.v4}","from":"Up","to":"Down"`)).map((l) => Date.parse(/"time":"([^"]+)"/.exec(l)?.[1] ?? '')).filter((t) => t >= t0 - 50).at(0);
        // ip monitor stamps when it prints, so a stamp can lag the event on a loaded host: the
        // link-down stamp is an upper bound of the moment, the start of `ip link set` a lower one.
        const split = bfdDown ? `; BFD down ${bfdDown - t0} ms after the link-down stamp, route gone ${t1 - bfdDown} ms later` : '';
        const fromAsked = t1 - asked;
        figures.push(`${kind}: ${ms}–${fromAsked} ms (after the link-down stamp – after \`ip link set down\` started; BFD ${BFD.minTxMs} ms × ${BFD.multiplier}: detection ${DETECT_MS} ms${split}; spurious BFD downs before the cut: ${spurious}; BGP hold time 30 s)`);
        process.stdout.write(`# BFD with ${kind}: peer route removed ${ms} ms after the link-down stamp, ${fromAsked} ms after \`ip link set down\` started${split}\n`);
        assert.ok(fromAsked < 3000, `routes removed ${fromAsked} ms after the link went down: BFD should have beaten the 30 s hold time by far`);
        await lab.kill(`monitor-route-${kind}`);
        await lab.kill(`monitor-link-${kind}`);

        const after1 = await tabby.peer(X.v4);
        assert.notEqual(after1.bfd!.state, 'Up');
        assert.equal(after1.bfd!.diagnostic, 'Control Detection Time Expired');
        assert.ok(after1.bfd!.downTransitions > spurious, 'the cut counted as a BFD down');
        assert.match(after1.lastError, /NOTIFICATION 6\/10 \(Cease \/ BFD Down\)/);
        assert.notEqual(after1.state, 'Established');
        assert.match((await tabby.cli(['metrics'])).stdout, new RegExp(`tabby_bgp_peer_bfd_down_total\\{[^}]*\\} ${after1.bfd!.downTransitions}\n`));
        if (v6) {
          await waitFor('the IPv6 session down by BFD and its route gone', async () => {
            const p = await tabby.peer(X.v6);
            return p.bfd?.state !== 'Up' && /6\/10/.test(p.lastError) && !(await kernelHas(lab, 't', PEER_ROUTE_V6)) ? true : undefined;
          }, 5000);
        }

        // The link comes back: BFD, then BGP, then the route.
        await lab.exec('x', 'ip', ['link', 'set', 'eth0', 'up']);
        await waitFor('BFD Up again and the session back', async () => {
          const p = await tabby.peer(X.v4);
          return p.bfd?.state === 'Up' && p.state === 'Established' ? true : undefined;
        }, 60_000);
        await waitFor('the peer\'s route back in the kernel', async () => ((await kernelHas(lab, 't', PEER_ROUTE)) ? true : undefined), 30_000);
      } catch (e) {
        const logs = ['tabby-t', 'tabby-x', 'bird-x', 'bgpd-x', 'bfdd-x'].map((n) => `--- ${n}\n${lab.logOf(n).split('\n').slice(-30).join('\n')}`).join('\n');
        (e as Error).message += `\n${logs}`;
        throw e;
      } finally {
        for (const r of running.splice(0)) await r.stop('SIGKILL');
        await lab.exec('x', 'ip', ['link', 'set', 'eth0', 'up']);
        // Linux drops IPv6 addresses of a link set down: put x's back.
        await lab.exec('x', 'ip', ['addr', 'replace', `${lab.node('x').v6}/64`, 'dev', 'eth0', 'nodad']);
        for (const n of ['t', 'x']) for (const f of ['-4', '-6']) await lab.exec(n, 'ip', [f, 'route', 'flush', 'proto', '81']);
      }
    });
  }
});
