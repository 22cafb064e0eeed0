// kubectl's -l syntax translated to Calico selectors, and Calico's syntax left alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectorFromLabelFlag } from './kubectl-text.js';
import { parseSelector } from './selector.js';

describe('selectorFromLabelFlag', () => {
  const cases: [string, string][] = [
    ['app=web', "app == 'web'"],
    ['app==web,tier!=db', "app == 'web' && tier != 'db'"],
    ['projectcalico.org/tier=security', "projectcalico.org/tier == 'security'"],
    ['env in (prod, staging),zone', "env in { 'prod', 'staging' } && has(zone)"],
    ['env notin (dev),!legacy', "env not in { 'dev' } && !has(legacy)"],
  ];
  for (const [kubectl, calico] of cases) {
    it(`${kubectl} → ${calico}`, () => {
      assert.equal(selectorFromLabelFlag(kubectl), calico);
      assert.ok(parseSelector(selectorFromLabelFlag(kubectl)));
    });
  }
  it('matches what kubectl would select', () => {
    const s = parseSelector(selectorFromLabelFlag('env in (prod,staging),!legacy'));
    assert.equal(s.matches({ env: 'prod' }), true);
    assert.equal(s.matches({ env: 'prod', legacy: 'y' }), false);
    assert.equal(s.matches({ env: 'dev' }), false);
  });
  it('leaves Calico syntax, and text that is neither, to the Calico parser', () => {
    for (const t of ["app == 'web'", 'has(zone) && a == "b"', 'all()', 'a = (', '']) assert.equal(selectorFromLabelFlag(t), t);
  });
});
