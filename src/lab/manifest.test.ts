import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNamespace, isPod, parseDocuments, parseRefs } from './manifest.js';

describe('lab manifests', () => {
  it('validates every document through the model and classifies Pods and Namespaces', () => {
    const docs = parseDocuments(
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {containers: [{name: c}]}\n---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: x}\nspec: {cidr: 10.9.0.0/16}\n',
      'f.yaml',
    );
    assert.deepEqual(docs.map((d) => [d.resource.kind, isNamespace(d), isPod(d)]), [['Namespace', true, false], ['Pod', false, true], ['IPPool', false, false]]);
  });

  it('rejects the whole file when one document is invalid, naming file, document and field', () => {
    assert.throws(
      () => parseDocuments('apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: x}\nspec: {cidr: 10.9.0.0/33}\n', 'pools.yaml'),
      (e: Error) => /pools\.yaml has 1 problem\(s\); nothing was applied/.test(e.message) && /document 2/.test(e.message) && /spec\.cidr/.test(e.message),
    );
  });

  it('reads only kind, name and namespace for delete, defaulting the namespace', () => {
    const refs = parseRefs('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n', 'd.yaml');
    assert.deepEqual(refs.map((r) => [r.kind.kind, r.namespace, r.name]), [['Pod', 'default', 'p'], ['Namespace', undefined, 'a']]);
    assert.throws(() => parseRefs('apiVersion: v1\nkind: Pod\nmetadata: {}\n', 'd.yaml'), /d\.yaml: document 1 \(Pod\): metadata\.name is required/);
    assert.throws(() => parseRefs('apiVersion: v1\nkind: Pdo\nmetadata: {name: p}\n', 'd.yaml'), /unknown kind "Pdo"/);
  });
});
