// The logger's level: fixed, or read at every line so it can change live (the BGP speaker's
// logSeverityScreen), including through children.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LogLevel, createLogger } from './log.js';

describe('logger level', () => {
  it('drops lines below a fixed level', () => {
    const lines: string[] = [];
    const log = createLogger({ component: 't' }, { level: 'warn', write: (l) => lines.push(l) });
    log.info('no');
    log.warn('yes');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['yes']);
  });
  it('reads a level function at every line, in the child that set it and its own children', () => {
    const lines: string[] = [];
    let level: LogLevel = 'info';
    const parent = createLogger({ component: 'p' }, { level: 'error', write: (l) => lines.push(l) });
    const speaker = parent.child({ component: 'bgp' }, { level: () => level });
    const peer = speaker.child({ peer: 'x' });
    peer.debug('d1');
    level = 'debug';
    peer.debug('d2');
    speaker.info('i1');
    level = 'warn';
    speaker.info('i2');
    parent.warn('parent keeps its own level');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string; component: string }).msg), ['d2', 'i1']);
    assert.equal((JSON.parse(lines[0]!) as { component: string; peer: string }).component, 'bgp');
  });
});
