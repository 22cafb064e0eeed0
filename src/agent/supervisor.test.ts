// The supervisor with real child processes: restarts after exits, health and metrics over IPC,
// one child's crash leaves the other alone, and stop() ends them all.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { nullLogger } from '../util/log.js';
import { Supervisor } from './supervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'tabby-supervisor-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

const steady = script(
  'steady.cjs',
  `process.send({ type: 'health', live: true, ready: true });
   process.on('message', (m) => { if (m.type === 'metrics?') process.send({ type: 'metrics', id: m.id, text: 'steady_metric 1\\n' }); });
   process.on('disconnect', () => process.exit(0));
   setInterval(() => {}, 1000);`,
);
const crashing = script('crashing.cjs', `process.send({ type: 'health', live: true, ready: false, reason: 'warming up' }); setTimeout(() => process.exit(3), 20);`);

async function until(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (f()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

// The sender relays one body to 'receiver', once; the receiver writes what it got to a file named
// by its pid and exits after its first relay in its first run: its second run can only get the
// body from the supervisor's replay.
const sender = script('sender.cjs', `process.send({ type: 'health', live: true, ready: true });
   setTimeout(() => process.send({ type: 'relay', to: 'receiver', topic: 'learned', body: { n: 1 } }), 100);
   process.on('disconnect', () => process.exit(0));
   setInterval(() => {}, 1000);`);
const receiver = script('receiver.cjs', `const fs = require('node:fs');
   process.send({ type: 'health', live: true, ready: true });
   process.on('message', (m) => { if (m.type === 'relay') { fs.writeFileSync(process.argv[2] + '/got-' + process.pid, JSON.stringify(m)); if (!fs.existsSync(process.argv[2] + '/restarted')) { fs.writeFileSync(process.argv[2] + '/restarted', ''); process.exit(1); } } });
   process.on('disconnect', () => process.exit(0));
   setInterval(() => {}, 1000);`);

describe('Supervisor', () => {
  it('relays a child\'s message to its sibling, and replays the last one to a sibling that restarts', async () => {
    const out = mkdtempSync(join(dir, 'relay-'));
    const sup = new Supervisor(
      [{ name: 'sender', modulePath: sender, args: [], env: process.env }, { name: 'receiver', modulePath: receiver, args: [out], env: process.env }],
      nullLogger,
      { backoff: { initialMs: 20, maxMs: 100, resetAfterMs: 60_000 } },
    );
    sup.start();
    try {
      await until('the receiver restarted and got a relay again', () => {
        const r = sup.status()[1]!;
        return r.restarts >= 1 && r.pid !== undefined && existsSync(join(out, `got-${r.pid}`));
      });
      const got = JSON.parse(readFileSync(join(out, `got-${sup.status()[1]!.pid}`), 'utf8')) as { type: string; topic: string; body: { n: number } };
      assert.equal(got.type, 'relay');
      assert.equal(got.topic, 'learned');
      assert.equal(got.body.n, 1);
    } finally {
      await sup.stop();
    }
  });

  it('restarts a child that exits, leaves the others running, relays health and metrics, and stops them all', async () => {
    const restarted: string[] = [];
    const sup = new Supervisor(
      [
        { name: 'steady', modulePath: steady, args: [], env: process.env },
        { name: 'crashing', modulePath: crashing, args: [], env: process.env },
      ],
      nullLogger,
      { backoff: { initialMs: 20, maxMs: 100, resetAfterMs: 60_000 }, onRestart: (n) => restarted.push(n) },
    );
    sup.start();
    try {
      await until('two restarts of the crashing child', () => restarted.length >= 2);
      assert.ok(restarted.every((n) => n === 'crashing'));
      const [s, c] = sup.status();
      assert.equal(s!.name, 'steady');
      assert.equal(s!.restarts, 0);
      assert.equal(s!.ready, true);
      const steadyPid = s!.pid;
      assert.ok(c!.restarts >= 2);
      assert.ok(c!.consecutiveFailures >= 2);
      assert.equal(c!.ready, false);
      assert.equal(await sup.collectMetrics(), 'steady_metric 1\n');
      assert.equal(sup.status()[0]!.pid, steadyPid);
    } finally {
      await sup.stop();
    }
    assert.deepEqual(sup.status().map((x) => [x.name, x.state, x.pid]), [['steady', 'stopped', undefined], ['crashing', 'stopped', undefined]]);
  });
});
