// The BFD shell's sockets when sessions are added together, as the speaker does for peers added
// live by one reconfiguration (the mesh's BFD annotation switched on): every add must succeed and
// share the family's one receive socket on UDP 3784 and the one send socket, not race to bind a
// second one (which failed with EADDRINUSE and left those peers without BFD). Runs the service in
// a network namespace of its own (port 3784 is the host's otherwise). Needs root and `tsc`.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const NS = `bgpcfg-bfd-${process.pid}`;
const here = dirname(fileURLToPath(import.meta.url));

const script = `
import { BfdService } from ${JSON.stringify(pathToFileURL(join(here, 'bfd.js')).href)};
import { parseIP } from ${JSON.stringify(pathToFileURL(join(here, '../../ip/index.js')).href)};
import { nullLogger } from ${JSON.stringify(pathToFileURL(join(here, '../../util/log.js')).href)};
const svc = new BfdService(nullLogger);
const timers = { desiredMinTxUs: 200000, requiredMinRxUs: 200000, detectMult: 3 };
const remotes = ['198.51.100.21', '198.51.100.22', '2001:db8::21', '2001:db8::22'];
const results = await Promise.allSettled(remotes.map((r) => svc.add(parseIP(r), undefined, timers, () => {})));
await new Promise((r) => setTimeout(r, 100));
const { execFileSync } = await import('node:child_process');
const sockets = execFileSync('ss', ['-Hnuap']).toString().split('\\n').filter((l) => l.includes('pid=' + process.pid + ','));
console.log(JSON.stringify({ results: results.map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason.message)), sockets: sockets.map((l) => l.trim().split(/\\s+/)[3]) }));
await svc.stop();
`;

describe('BFD sockets: sessions added at once', () => {
  before(async () => {
    await exec('ip', ['netns', 'add', NS]);
    // Documentation addresses on a veth pair inside the namespace: the packets to the "peers"
    // go nowhere outside it.
    for (const cmd of [['link', 'set', 'lo', 'up'], ['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'], ['addr', 'add', '198.51.100.1/24', 'dev', 'v0'], ['addr', 'add', '2001:db8::1/64', 'dev', 'v0', 'nodad'], ['link', 'set', 'v0', 'up'], ['link', 'set', 'v1', 'up']]) {
      await exec('ip', ['-n', NS, ...cmd]);
    }
  });
  after(async () => {
    await exec('ip', ['netns', 'delete', NS]).catch(() => {});
  });

  it('four sessions added concurrently all start, over one receive and one send socket per family', async () => {
    const { stdout } = await exec('ip', ['netns', 'exec', NS, process.execPath, '--input-type=module', '-e', script], { timeout: 30_000 });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as { results: string[]; sockets: string[] };
    assert.deepEqual(out.results, ['ok', 'ok', 'ok', 'ok'], 'every add succeeded');
    const listening = out.sockets.filter((a) => a.endsWith(':3784')).sort();
    assert.deepEqual(listening, ['0.0.0.0:3784', '[::]:3784'], `one receive socket per family: ${out.sockets.join(' ')}`);
    assert.equal(out.sockets.length, 4, `and one send socket per family: ${out.sockets.join(' ')}`);
  });
});
