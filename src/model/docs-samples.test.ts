// Calico's own documentation samples (testdata/calico-docs, copied unchanged) must validate, for
// every kind Tabby stores; and what is applied reads back equal apart from defaults.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { KINDS, type ResourceObject, applyDefaults, deepEqual, formatIssue, loadManifests, stripDefaults, validateResource } from './index.js';

// dist/src/model/*.test.js → <repo>/src/model/testdata/calico-docs
const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src/model/testdata/calico-docs');
const KNOWN_BAD = new Set(['overview-hostendpoint-list.yaml']);
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

/** The raw documents of a file as plain objects (List items and top-level arrays flattened). */
function rawDocuments(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((x) => x !== null)
    .flatMap((x) => (Array.isArray(x) ? x : (x as { kind?: string }).kind === 'List' ? ((x as { items: unknown[] }).items) : [x])) as Record<string, unknown>[];
}

describe('Calico documentation samples', () => {
  const loaded = files
    .filter((f) => !KNOWN_BAD.has(f))
    .map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8') }))
    .map(({ file, text }) => ({ file, text, result: loadManifests(text, file) }));

  for (const { file, result } of loaded) {
    it(`${file} validates`, () => {
      assert.deepEqual(result.issues, []);
      assert.ok(result.documents.length > 0);
    });
  }

  it('cover every kind', () => {
    const seen = new Set(loaded.flatMap(({ result }) => result.documents.map((d) => `${d.resource.apiVersion} ${d.resource.kind}`)));
    const missing = KINDS.map((k) => `${k.apiVersion} ${k.kind}`).filter((k) => !seen.has(k));
    assert.deepEqual(missing, []);
  });

  // Where calicoctl's decoding changes what was written, the read-back says so explicitly.
  const decoded: Record<string, (raw: Record<string, unknown>) => Record<string, unknown>> = {
    // crd.projectcalico.org/v1 is stored as projectcalico.org/v3.
    'bgppeer-password.yaml': (raw) => ({ ...raw, apiVersion: 'projectcalico.org/v3' }),
    // Go's decoder matched "etcdv3CompactionPeriod" to the field etcdV3CompactionPeriod.
    'kubecontrollersconfig.yaml': (raw) => {
      const spec = { ...(raw.spec as Record<string, unknown>) };
      spec.etcdV3CompactionPeriod = spec.etcdv3CompactionPeriod;
      delete spec.etcdv3CompactionPeriod;
      return { ...raw, spec };
    },
    // A YAML number in a string field is its text (exact, even beyond 2^53).
    'workloadendpoint.yaml': (raw) => ({ ...raw, spec: { ...(raw.spec as Record<string, unknown>), containerID: '1337495556942031415926535' } }),
  };

  for (const { file, text, result } of loaded) {
    it(`${file} reads back equal apart from defaults`, () => {
      const raws = rawDocuments(text);
      assert.equal(raws.length, result.documents.length);
      result.documents.forEach((doc, i) => {
        const expected = (decoded[file] ?? ((r) => r))(raws[i]!) as unknown as ResourceObject;
        assert.ok(deepEqual(stripDefaults(doc.resource), stripDefaults(expected)), `${file} document ${i + 1}:\n${JSON.stringify(stripDefaults(doc.resource))}\n${JSON.stringify(stripDefaults(expected))}`);
        // Validation is idempotent, and stripping then re-applying defaults restores the read-back.
        assert.deepEqual(validateResource(doc.resource), doc.resource);
        assert.ok(deepEqual(applyDefaults(stripDefaults(doc.resource)), doc.resource));
      });
    });
  }

  it('the overview page sample is refused: it uses "interface" where the field is "interfaceName"', () => {
    const file = 'overview-hostendpoint-list.yaml';
    const result = loadManifests(readFileSync(join(dir, file), 'utf8'), file);
    assert.equal(result.documents.length, 0);
    assert.deepEqual(
      result.issues.map((i) => [i.document, i.item, i.path, i.rule, i.name]),
      [
        [1, 1, 'spec.interface', 'unknown-field', 'endpoint1'],
        [1, 2, 'spec.interface', 'unknown-field', 'endpoint2'],
      ],
    );
    assert.match(formatIssue(result.issues[1]!), /^overview-hostendpoint-list\.yaml: item 2 of the List in document 1 \(line \d+\) HostEndpoint "endpoint2": spec\.interface: /);
    assert.match(result.issues[0]!.message, /unknown field "interface"; the fields here are: .*interfaceName/);
  });
});
