import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DatastoreError } from '../datastore/index.js';
import { ValidationError } from '../model/index.js';
import { ResourceError } from '../client/index.js';
import { ExitCode, combineExitCodes, exitCodeFor } from './exit-codes.js';
import { InputError } from './input.js';
import { UsageError } from './output.js';

describe('exit codes', () => {
  it('maps errors by their stable code', () => {
    const cases: [unknown, ExitCode][] = [
      [new ValidationError([{ path: 'spec.cidr', rule: 'cidr', message: 'bad' }]), ExitCode.Invalid],
      [new UsageError('x'), ExitCode.Invalid],
      [new InputError('x'), ExitCode.Invalid],
      [new ResourceError('NotFound', 'x'), ExitCode.NotFound],
      [new ResourceError('AlreadyExists', 'x'), ExitCode.Conflict],
      [new ResourceError('Conflict', 'x'), ExitCode.Conflict],
      [new DatastoreError('Unavailable', 'x'), ExitCode.Unavailable],
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), ExitCode.Unavailable],
      [new DatastoreError('TooLarge', 'x'), ExitCode.Invalid],
      [new Error('anything else'), ExitCode.Invalid],
    ];
    for (const [err, code] of cases) assert.equal(exitCodeFor(err), code, String(err));
  });
  it('combines per-item outcomes: the first failure decides', () => {
    assert.equal(combineExitCodes([0, 0]), 0);
    assert.equal(combineExitCodes([0, 2, 3]), 2);
    assert.equal(combineExitCodes([]), 0);
  });
});
