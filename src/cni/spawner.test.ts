// tabby-spawn (the C helper) through the agent's Spawner: output, status, stdin, failures,
// signals and many commands at once.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { nullLogger } from '../util/log.js';
import { Spawner } from './spawner.js';
import { DIST } from './testing/test-node.js';

const helper = join(DIST, 'bin', 'tabby-spawn');
const spawner = new Spawner(helper, nullLogger);
after(() => spawner.close());

describe('tabby-spawn', () => {
  it('is built by make build', () => {
    assert.ok(existsSync(helper), `${helper} is missing: run make build`);
  });

  it('returns stdout, stderr and the exit status, and feeds stdin', async () => {
    assert.deepEqual(await spawner.run(['sh', '-c', 'echo out; echo err >&2; exit 3']), { code: 3, stdout: 'out\n', stderr: 'err\n' });
    assert.deepEqual(await spawner.run(['cat'], 'line one\nline two\n'), { code: 0, stdout: 'line one\nline two\n', stderr: '' });
  });

  it('reports a program that cannot start as 127 and a killed one as 128+signal', async () => {
    const r = await spawner.run(['tabby-no-such-program']);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /cannot run tabby-no-such-program/);
    assert.equal((await spawner.run(['sh', '-c', 'kill -9 $$'])).code, 137);
  });

  it('runs many commands at once and matches every answer to its command', async () => {
    const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => spawner.run(['sh', '-c', `sleep 0.0${i % 5}; echo ${i}`])));
    assert.deepEqual(rs.map((r) => r.stdout.trim()), Array.from({ length: 100 }, (_, i) => String(i)));
  });
});
