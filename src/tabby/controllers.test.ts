import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import type { GcPassResult } from '../controllers/index.js';
import { MemoryDatastore } from '../datastore/index.js';
import { BlockAllocator } from '../ipam/index.js';
import { parseDuration } from '../util/index.js';
import { putNode, putPool } from '../testing/resources.js';
import { nullLogger } from '../util/log.js';
import { KUBE_CONTROLLERS_CONFIG_KEY, configuredLeakGracePeriod, runControllers } from '../controllers/index.js';
import { registerControllersCommand } from './controllers.js';

describe('tabby controllers', () => {
  it('reads the grace period from KubeControllersConfiguration and runs GC passes until stopped', async () => {
    const ds = new MemoryDatastore();
    await putPool(ds, 'p', { cidr: '10.244.0.0/24' });
    await putNode(ds, 'node-a');
    const ipam = new BlockAllocator(ds);
    const leaked = (await ipam.autoAssign({ handleId: 'h', node: 'node-a', num4: 1, num6: 0, attrs: { pod: 'p', namespace: 'default', node: 'node-a' } })).ipv4[0]!.ip;
    assert.equal(await configuredLeakGracePeriod(ds), undefined);
    await ds.put(KUBE_CONTROLLERS_CONFIG_KEY, { apiVersion: 'projectcalico.org/v3', kind: 'KubeControllersConfiguration', metadata: { name: 'default' }, spec: { controllers: { node: { leakGracePeriod: '0s' } } } });
    assert.equal(await configuredLeakGracePeriod(ds), 0);
    const stop = new AbortController();
    const passes: GcPassResult[] = [];
    await runControllers(ds, { logger: nullLogger, intervalMs: 5, signal: stop.signal, onPass: (r) => (passes.push(r), passes.length >= 2 && stop.abort()) });
    assert.deepEqual(passes[0]!.releasedAddresses, [leaked]);
    assert.equal(passes.length, 2);
  });

  it('registers the command with its flags', () => {
    const cmd = registerControllersCommand(new Command('tabby'));
    assert.equal(cmd.name(), 'controllers');
    assert.ok(cmd.options.some((o) => o.long === '--leak-grace-period'));
  });

  it('parses Go-style durations and refuses others', () => {
    assert.equal(parseDuration('15m'), 900_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('0'), 0);
    assert.throws(() => parseDuration('15 minutes', '--leak-grace-period'), /--leak-grace-period "15 minutes" is not a duration/);
  });
});
