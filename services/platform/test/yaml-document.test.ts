// YAML documents through their JSON copy (issue 19): the copy is used only when made from the same YAML text;
// anything else parses the YAML (and writes the copy when it can).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { jsonCopyPath, loadYamlDocument } from '../src/yaml-document.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const moduleUrl = new URL('../src/yaml-document.ts', import.meta.url).href;

describe('platform/yaml-document: YAML read through a JSON copy', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'yaml-document-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('parses the YAML and writes the copy; a later load returns what the copy holds', () => {
    const file = join(dir, 'openapi.yaml');
    const text =
      'openapi: 3.0.3\ninfo: { title: t, version: "1" }\npaths:\n  /a: { get: { responses: { "200": { description: ok } } } }\n';
    writeFileSync(file, text);
    const first = loadYamlDocument(file);
    expect(first.info).to.deep.equal({ title: 't', version: '1' });
    expect(jsonCopyPath(file)).to.equal(join(dir, '.openapi.yaml.json'));
    const copy = JSON.parse(readFileSync(jsonCopyPath(file), 'utf8'));
    expect(copy).to.deep.equal({ sha256: sha256(text), document: first });
    // a copy made from this very text is what is read (here one saying something else, to tell them apart)
    writeFileSync(jsonCopyPath(file), JSON.stringify({ sha256: sha256(text), document: { from: 'copy' } }));
    expect(loadYamlDocument(pathToFileURL(file))).to.deep.equal({ from: 'copy' });
  });

  it('a copy of another text (the YAML was edited) is not used, and is replaced', () => {
    const file = join(dir, 'table.yaml');
    writeFileSync(file, 'routes: [a]\n');
    writeFileSync(
      jsonCopyPath(file),
      JSON.stringify({ sha256: sha256('routes: [old]\n'), document: { routes: ['old'] } }),
    );
    expect(loadYamlDocument(file)).to.deep.equal({ routes: ['a'] });
    expect(JSON.parse(readFileSync(jsonCopyPath(file), 'utf8')).document).to.deep.equal({ routes: ['a'] });
    writeFileSync(jsonCopyPath(file), '{ not json');
    expect(loadYamlDocument(file)).to.deep.equal({ routes: ['a'] });
  });

  it('no copy for a document JSON would change; a copy that cannot be written is no error', () => {
    const file = join(dir, 'limits.yaml');
    writeFileSync(file, 'max: .inf\n');
    expect(loadYamlDocument(file)).to.deep.equal({ max: Infinity });
    expect(existsSync(jsonCopyPath(file))).to.equal(false);

    const other = join(dir, 'other.yaml');
    writeFileSync(other, 'a: 1\n');
    mkdirSync(join(jsonCopyPath(other), 'in-the-way'), { recursive: true }); // the rename cannot replace it
    expect(loadYamlDocument(other)).to.deep.equal({ a: 1 });
    expect(loadYamlDocument(other)).to.deep.equal({ a: 1 });
  });

  it('with a fresh copy the yaml package is not loaded at all', () => {
    const file = join(dir, 'openapi.yaml');
    writeFileSync(file, 'a: [1, 2]\n');
    const script = (expectYaml: boolean) => `
      import { createRequire } from 'node:module';
      const { loadYamlDocument } = await import(${JSON.stringify(moduleUrl)});
      const doc = loadYamlDocument(${JSON.stringify(file)});
      const yamlLoaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/yaml/'));
      if (JSON.stringify(doc) !== '{"a":[1,2]}' || yamlLoaded !== ${expectYaml}) { console.error(JSON.stringify({ doc, yamlLoaded })); process.exit(1); }`;
    for (const expectYaml of [true, false]) {
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script(expectYaml)], { encoding: 'utf8' });
      expect(run.status, `${expectYaml ? 'first' : 'second'} load: ${run.stderr}`).to.equal(0);
    }
  });
});
