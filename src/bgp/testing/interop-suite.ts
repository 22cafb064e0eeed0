// The interop scenarios, run once per peer implementation (interop-<peer>.test.ts): Tabby in one
// namespace, the peer in another, a second Tabby in a third, all on one bridge.
//   1. eBGP, IPv4 and IPv6 sessions, routes both ways (peer RIB and Tabby's kernel, protocol 81);
//   2. route refresh both ways;
//   3. graceful restart of the peer (routes stay installed, then go when the restart time runs
//      out) and of Tabby (the peer keeps Tabby's routes, the kernel never loses the peer's);
//   4. a peer going away (Cease) withdraws its routes from the kernel;
//   5. Tabby as route reflector with the peer as client: reflected routes carry ORIGINATOR_ID and
//      CLUSTER_LIST, seen in the peer's own RIB;
//   6. Tabby as route-reflector client of the peer: the same, seen in Tabby's RIB.

import assert from 'node:assert/strict';
import { after, before, describe, it as nodeIt } from 'node:test';
import { NetLab, waitFor } from './netlab.js';
import { type Router, type RouterSpec, TabbyRouter, makeRouter } from './routers.js';

type Kind = 'bird' | 'gobgp' | 'frr';

async function kernelRoutes(lab: NetLab, node: string, family: 4 | 6): Promise<Map<string, string>> {
  const r = await lab.exec(node, 'ip', ['-j', `-${family}`, 'route', 'show', 'proto', '81']);
  const out = new Map<string, string>();
  for (const x of JSON.parse(r.stdout || '[]') as { dst: string; gateway?: string }[]) out.set(x.dst, x.gateway ?? '');
  return out;
}

export function interopSuite(kind: Kind, labId: number): void {
  describe(`interop with ${kind}`, { concurrency: false }, () => {
    let lab: NetLab;
    const running: Router[] = [];
    const start = async (r: Router, opts?: { restarting?: boolean }) => {
      await r.start(opts);
      running.push(r);
      return r;
    };
    const stopAll = async () => {
      for (const r of running.splice(0)) await r.stop('SIGKILL');
      // Leftover protocol-81 routes would make the next Tabby think it is restarting.
      for (const n of ['t', 'u']) for (const f of ['-4', '-6']) await lab.exec(n, 'ip', [f, 'route', 'flush', 'proto', '81']);
    };

    before(async () => {
      lab = await NetLab.create(labId, ['t', 'x', 'u']);
    });
    after(async () => {
      await lab?.destroy();
    });

    // On failure, the daemons' recent logs go with the error, so a CI failure can be read.
    const it = (name: string, fn: () => Promise<void>) =>
      nodeIt(name, async () => {
        try {
          await fn();
        } catch (e) {
          const logs = ['tabby-t', 'tabby-u', `bird-x`, 'gobgp-x', 'bgpd-x'].map((n) => `--- ${n}\n${lab.logOf(n).split('\n').slice(-40).join('\n')}`).join('\n');
          (e as Error).message += `\n${logs}`;
          throw e;
        }
      });
    const T = () => lab.node('t');
    const X = () => lab.node('x');
    const U = () => lab.node('u');

    describe('eBGP', { concurrency: false }, () => {
      let tabby: TabbyRouter;
      let peer: Router;
      const tabbySpec = (): RouterSpec => ({
        node: 't', as: 65001, routerId: T().v4, restartTime: 10,
        originate: ['10.1.0.0/24', '2001:db8:1001::/64'],
        neighbors: [{ address: X().v4, as: 65002, family: 'ipv4' }, { address: X().v6, as: 65002, family: 'ipv6' }],
        // Prometheus over HTTP too (node:http is loaded only when this is set), on the node's own loopback.
        tabbyExtra: 'metricsAddress: 127.0.0.1:9473',
      });
      const peerSpec = (): RouterSpec => ({
        node: 'x', as: 65002, routerId: X().v4, restartTime: 10,
        originate: ['10.2.0.0/24', '2001:db8:1002::/64'],
        neighbors: [{ address: T().v4, as: 65001, family: 'ipv4' }, { address: T().v6, as: 65001, family: 'ipv6' }],
      });
      after(stopAll);

      it('exchanges IPv4 and IPv6 routes both ways and installs the peer\'s in the kernel with protocol 81', async () => {
        peer = await start(makeRouter(kind, lab, peerSpec()));
        tabby = (await start(new TabbyRouter(lab, tabbySpec()))) as TabbyRouter;
        await waitFor('both sessions established', async () => ((await tabby.established(X().v4)) && (await tabby.established(X().v6)) ? true : undefined));
        const v4 = await waitFor('Tabby\'s IPv4 route at the peer', async () => (await peer.rib('ipv4')).get('10.1.0.0/24'));
        assert.deepEqual(v4.asPath, [65001]);
        assert.equal(v4.nextHop, T().v4);
        const v6 = await waitFor('Tabby\'s IPv6 route at the peer', async () => (await peer.rib('ipv6')).get('2001:db8:1001::/64'));
        assert.deepEqual(v6.asPath, [65001]);
        assert.equal(v6.nextHop, T().v6);
        const k4 = await waitFor('the peer\'s IPv4 route in Tabby\'s kernel', async () => (await kernelRoutes(lab, 't', 4)).get('10.2.0.0/24'));
        assert.equal(k4, X().v4);
        const k6 = await waitFor('the peer\'s IPv6 route in Tabby\'s kernel', async () => (await kernelRoutes(lab, 't', 6)).get('2001:db8:1002::/64'));
        assert.equal(k6, X().v6);
        const p = await tabby.peer(X().v4);
        // FRR sends our own route back (our AS in its path): received, not accepted.
        assert.deepEqual({ accepted: p.prefixes.accepted, advertised: p.prefixes.advertised }, { accepted: 1, advertised: 1 });
        assert.ok(p.prefixes.received >= 1);
        const learned = (await tabby.rib('ipv4')).get('10.2.0.0/24');
        assert.deepEqual(learned?.asPath, [65002]);
        // The operator's views: the peer table and the Prometheus metrics.
        const table = (await tabby.cli(['status'])).stdout;
        assert.match(table, new RegExp(`${X().v4.replace(/\./g, '\\.')}\\s+65002\\s+ebgp\\s+Established`));
        const metrics = (await tabby.cli(['metrics'])).stdout;
        assert.match(metrics, new RegExp(`tabby_bgp_peer_up\\{peer="[^"]+",address="${X().v4.replace(/\./g, '\\.')}",as="65002"\\} 1`));
        assert.match(metrics, /tabby_bgp_peer_prefixes\{[^}]*kind="accepted"\} 1/);
        const scrape = await lab.exec('t', process.execPath, ['-e', "fetch('http://127.0.0.1:9473/metrics').then(async (r) => process.stdout.write(r.status + '\\n' + (await r.text())))"]);
        assert.equal(scrape.stdout.split('\n')[0], '200', `metrics scrape: ${scrape.stderr}`);
        assert.match(scrape.stdout, new RegExp(`tabby_bgp_peer_up\\{peer="[^"]+",address="${X().v4.replace(/\./g, '\\.')}",as="65002"\\} 1`));
      });

      it('route refresh: Tabby asks the peer, the peer sends its routes again', async () => {
        const before1 = (await tabby.peer(X().v4)).updates.received;
        await tabby.refreshIn(X().v4);
        await waitFor('the peer to resend after our ROUTE-REFRESH', async () => ((await tabby.peer(X().v4)).updates.received > before1 ? true : undefined));
        assert.ok((await kernelRoutes(lab, 't', 4)).has('10.2.0.0/24'));
      });

      // GoBGP's CLI cannot send a ROUTE-REFRESH (its softresetin re-filters its own copy).
      if (kind !== 'gobgp') {
        it('route refresh: the peer asks Tabby, Tabby sends its routes again', async () => {
          const before2 = (await tabby.peer(X().v4)).updates.sent;
          await peer.refreshIn(T().v4);
          await waitFor('Tabby to resend after the peer\'s ROUTE-REFRESH', async () => ((await tabby.peer(X().v4)).updates.sent > before2 ? true : undefined));
          assert.ok((await peer.rib('ipv4')).has('10.1.0.0/24'));
        });
      }

      it('graceful restart of the peer: its routes stay installed while it is down, and go when its restart time runs out', async () => {
        await peer.stop('SIGKILL');
        await waitFor('Tabby to see the session fail', async () => ((await tabby.peer(X().v4)).state !== 'Established' ? true : undefined));
        const p = await tabby.peer(X().v4);
        assert.equal(p.stale, true, 'routes kept as stale');
        assert.equal((await kernelRoutes(lab, 't', 4)).get('10.2.0.0/24'), X().v4, 'still installed while the peer restarts');
        running.splice(running.indexOf(peer), 1);
        peer = await start(makeRouter(kind, lab, peerSpec()), { restarting: true });
        await waitFor('the session back with fresh routes', async () => {
          const q = await tabby.peer(X().v4);
          return q.state === 'Established' && !q.stale && q.prefixes.accepted === 1 ? true : undefined;
        });
        assert.equal((await kernelRoutes(lab, 't', 4)).get('10.2.0.0/24'), X().v4);
        // Down again, and this time it does not come back: the restart time (10 s) runs out.
        await peer.stop('SIGKILL');
        running.splice(running.indexOf(peer), 1);
        await waitFor('Tabby to see the session fail', async () => ((await tabby.peer(X().v4)).state !== 'Established' ? true : undefined));
        assert.ok((await kernelRoutes(lab, 't', 4)).has('10.2.0.0/24'), 'kept during the restart time');
        await waitFor('the stale route to leave the kernel after the restart time', async () => (!(await kernelRoutes(lab, 't', 4)).has('10.2.0.0/24') ? true : undefined), 30_000);
        peer = await start(makeRouter(kind, lab, peerSpec()));
        await waitFor('the session back', async () => ((await tabby.established(X().v4)) ? true : undefined));
      });

      it('graceful restart of Tabby: the peer keeps Tabby\'s routes and the kernel never loses the peer\'s', async () => {
        await waitFor('the peer\'s route installed', async () => (await kernelRoutes(lab, 't', 4)).get('10.2.0.0/24'));
        lab.spawn('t', 'monitor', 'ip', ['monitor', 'route']);
        await new Promise((r) => setTimeout(r, 200));
        await tabby.stop('SIGTERM');
        running.splice(running.indexOf(tabby), 1);
        await waitFor('the peer to see Tabby go', async () => (!(await peer.established(T().v4)) ? true : undefined));
        assert.ok((await peer.rib('ipv4')).has('10.1.0.0/24'), 'the peer (helper) keeps Tabby\'s route');
        assert.ok((await kernelRoutes(lab, 't', 4)).has('10.2.0.0/24'));
        tabby = (await start(new TabbyRouter(lab, tabbySpec()))) as TabbyRouter;
        await waitFor('Tabby back and done restarting', async () => {
          const s = await tabby.status();
          const p = s.peers.find((x) => x.address === X().v4);
          return !s.restarting && p?.state === 'Established' && p.prefixes.accepted === 1 ? true : undefined;
        });
        assert.ok((await peer.rib('ipv4')).has('10.1.0.0/24'));
        assert.ok((await kernelRoutes(lab, 't', 4)).has('10.2.0.0/24'));
        await lab.kill('monitor');
        assert.doesNotMatch(lab.logOf('monitor'), /Deleted 10\.2\.0\.0\/24/, 'the peer\'s route was never removed');
      });

      it('a peer going away (Cease) withdraws its routes from the kernel', async () => {
        await waitFor('both sessions up', async () => ((await tabby.established(X().v4)) && (await tabby.established(X().v6)) ? true : undefined));
        await waitFor('the peer\'s IPv6 route installed', async () => (await kernelRoutes(lab, 't', 6)).get('2001:db8:1002::/64'));
        await peer.shutdown(T().v4);
        await peer.shutdown(T().v6);
        await waitFor('the peer\'s routes to leave the kernel', async () => {
          const k4 = await kernelRoutes(lab, 't', 4);
          const k6 = await kernelRoutes(lab, 't', 6);
          return !k4.has('10.2.0.0/24') && !k6.has('2001:db8:1002::/64') ? true : undefined;
        });
        const p = await tabby.peer(X().v4);
        assert.match(p.lastError, /NOTIFICATION 6\//);
        assert.equal(p.stale, false);
      });
    });

    describe('iBGP route reflection', { concurrency: false }, () => {
      after(stopAll);

      it(`Tabby reflects between ${kind} and another client, setting ORIGINATOR_ID and CLUSTER_LIST`, async () => {
        await stopAll();
        const peer = await start(makeRouter(kind, lab, { node: 'x', as: 65000, routerId: X().v4, originate: ['10.2.0.0/24'], neighbors: [{ address: T().v4, as: 65000, family: 'ipv4' }] }));
        const other = (await start(new TabbyRouter(lab, { node: 'u', as: 65000, routerId: U().v4, originate: ['10.3.0.0/24'], neighbors: [{ address: T().v4, as: 65000, family: 'ipv4' }] }))) as TabbyRouter;
        await start(new TabbyRouter(lab, {
          node: 't', as: 65000, routerId: T().v4, clusterId: '1.0.0.1', originate: ['10.1.0.0/24'],
          neighbors: [{ address: X().v4, as: 65000, family: 'ipv4', rrClient: true }, { address: U().v4, as: 65000, family: 'ipv4', rrClient: true }],
        }));
        const atPeer = await waitFor('the other client\'s route reflected to the peer', async () => (await peer.rib('ipv4')).get('10.3.0.0/24'));
        assert.equal(atPeer.originatorId, U().v4);
        assert.deepEqual(atPeer.clusterList, ['1.0.0.1']);
        assert.equal(atPeer.nextHop, U().v4, 'next hop unchanged by reflection');
        const atOther = await waitFor('the peer\'s route reflected to the other client', async () => (await other.rib('ipv4')).get('10.2.0.0/24'));
        assert.equal(atOther.originatorId, X().v4);
        assert.deepEqual(atOther.clusterList, ['1.0.0.1']);
        const own = (await peer.rib('ipv4')).get('10.1.0.0/24');
        assert.ok(own, 'the reflector\'s own route reaches the peer');
        assert.equal(own.originatorId, undefined);
      });

      it(`Tabby as route-reflector client of ${kind}`, async () => {
        await stopAll();
        const peer = await start(makeRouter(kind, lab, {
          node: 'x', as: 65000, routerId: X().v4, clusterId: '2.0.0.2', originate: ['10.2.0.0/24'],
          neighbors: [{ address: T().v4, as: 65000, family: 'ipv4', rrClient: true }, { address: U().v4, as: 65000, family: 'ipv4', rrClient: true }],
        }));
        const other = (await start(new TabbyRouter(lab, { node: 'u', as: 65000, routerId: U().v4, originate: ['10.3.0.0/24'], neighbors: [{ address: X().v4, as: 65000, family: 'ipv4' }] }))) as TabbyRouter;
        const tabby = (await start(new TabbyRouter(lab, { node: 't', as: 65000, routerId: T().v4, originate: ['10.1.0.0/24'], neighbors: [{ address: X().v4, as: 65000, family: 'ipv4' }] }))) as TabbyRouter;
        const reflected = await waitFor('the other client\'s route reflected to Tabby', async () => (await tabby.rib('ipv4')).get('10.3.0.0/24'));
        assert.equal(reflected.originatorId, U().v4);
        assert.deepEqual(reflected.clusterList, ['2.0.0.2']);
        const mine = await waitFor('Tabby\'s route reflected to the other client', async () => (await other.rib('ipv4')).get('10.1.0.0/24'));
        assert.equal(mine.originatorId, T().v4);
        assert.deepEqual(mine.clusterList, ['2.0.0.2']);
        assert.ok((await peer.rib('ipv4')).has('10.1.0.0/24'));
        const k = await waitFor('the reflected route in Tabby\'s kernel', async () => (await kernelRoutes(lab, 't', 4)).get('10.3.0.0/24'));
        assert.equal(k, U().v4);
      });
    });
  });
}
