// The host interface reader and watcher on a real namespace (root; needs ip): addresses are read
// per interface; an address change is reported; the `ip monitor` it runs ends with stop() and
// also when its owner is SIGKILLed (it must not linger holding a namespace).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HostInterfaceWatcher, parseAddrJson, readHostInterfaces } from './host-interfaces.js';

const NS = `tbw${process.pid % 10000}`;
const ip = (...args: string[]): void => void execFileSync('ip', args);

/** True while any process of the group exists. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (check()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) assert.fail(`${what}: not after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('host interfaces: reading and watching the kernel', () => {
  before(() => {
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'add', 'hw0', 'type', 'veth', 'peer', 'name', 'hw1');
    ip('-n', NS, 'link', 'set', 'hw0', 'up');
    ip('-n', NS, 'addr', 'add', '198.19.47.1/24', 'dev', 'hw0');
  });
  after(() => {
    try {
      ip('netns', 'del', NS);
    } catch {
      // gone
    }
  });

  it('parses ip -j addr show; refuses what is not its JSON', () => {
    const m = parseAddrJson(JSON.stringify([{ ifname: 'eth0', addr_info: [{ local: 'fd00::1' }, { local: '10.0.0.1' }] }, { ifname: 'lo', addr_info: [] }]));
    assert.deepEqual([...m], [
      ['eth0', ['10.0.0.1', 'fd00::1']],
      ['lo', []],
    ]);
    assert.throws(() => parseAddrJson('nope'), /ip -j addr show printed no JSON/);
  });

  it("reads a namespace's interfaces and reports an address change", async () => {
    const first = await readHostInterfaces(NS);
    assert.deepEqual(first.get('hw0'), ['198.19.47.1']);
    let changes = 0;
    const w = new HostInterfaceWatcher({ netns: NS, onChange: () => changes++, debounceMs: 20 });
    w.start();
    try {
      // The monitor may start after the first change; add addresses until one is reported.
      await until('an address change reported', () => {
        if (changes === 0) execFileSync('ip', ['-n', NS, 'addr', 'replace', '198.19.47.9/24', 'dev', 'hw0']);
        return changes > 0;
      });
      assert.deepEqual((await readHostInterfaces(NS)).get('hw0'), ['198.19.47.1', '198.19.47.9']);
      const pgid = w.processGroup!;
      w.stop();
      await until('the monitor ended with stop()', () => !groupAlive(pgid));
    } finally {
      w.stop();
    }
  });

  it('the monitor does not outlive a SIGKILLed owner', async () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const owner = spawn(process.execPath, ['--input-type=module', '-e', `import { HostInterfaceWatcher } from ${JSON.stringify(join(here, 'host-interfaces.js'))}; const w = new HostInterfaceWatcher({ netns: ${JSON.stringify(NS)}, onChange: () => {} }); w.start(); console.log(w.processGroup); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pgid = await new Promise<number>((resolve) => owner.stdout!.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
    assert.ok(pgid > 0 && groupAlive(pgid));
    owner.kill('SIGKILL');
    const ms = await until('the monitor ended after its owner was killed', () => !groupAlive(pgid));
    console.log(`# monitor gone ${ms} ms after its owner's SIGKILL`);
  });
});
