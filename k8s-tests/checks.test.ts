// The checks themselves, proven on fixtures (k8s-tests/fixtures/): the pinned tools are the ones installed, the
// offline schemas refuse what strict Kubernetes schemas refuse, every policy rule passes the good chart and
// fails the bad one, and a values.schema.json violation is refused naming the key.
import { expect } from 'chai';
import { join } from 'node:path';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { inCI } from '@eventtickets/platform/testing';
import { ensureSchemas, schemaFileName, type SchemaSet } from './lib/schemas.ts';
import { helmTemplate, kubeconform, parseManifests, type K8sObject } from './lib/manifests.ts';
import { RULES, checkPolicies, formatFindings, imageTag, selects } from './lib/policy.ts';
import { K8S_TESTS_DIR, builtVersion, kubernetesVersion, pinned, requireTool, run } from './lib/tools.ts';

const fixture = (name: string) => join(K8S_TESTS_DIR, 'fixtures', name);

describe('k8s-tests: the checks, proven on fixtures', function () {
  this.timeout(600_000);
  let helm: string;
  let kc: string;
  let go: string;
  let schemas: SchemaSet;

  before(async function () {
    helm = requireTool(this, 'helm');
    kc = requireTool(this, 'kubeconform');
    go = requireTool(this, 'go');
    schemas = await ensureSchemas(go);
  });

  it('helm and kubeconform are the versions pinned in k8s-tests/tools.env', async function () {
    for (const [name, path] of [
      ['helm', helm],
      ['kubeconform', kc],
    ] as const) {
      const version = await builtVersion(go, path);
      if (version !== pinned[name]) {
        const message = `${name} at ${path} is ${version ?? 'of unknown version'}, tools.env pins ${pinned[name]}`;
        if (inCI) throw new Error(message);
        console.log(`      note: ${message} (a failure under CI)`);
      }
    }
  });

  it('the schema set has every kind the charts use, named as kubeconform looks them up', function () {
    for (const kind of [
      'apps/v1 Deployment',
      'apps/v1 StatefulSet',
      'batch/v1 Job',
      'v1 Service',
      'v1 Secret',
      'v1 ConfigMap',
      'v1 ServiceAccount',
      'policy/v1 PodDisruptionBudget',
      'autoscaling/v2 HorizontalPodAutoscaler',
      'networking.k8s.io/v1 NetworkPolicy',
      'networking.k8s.io/v1 Ingress',
      'monitoring.coreos.com/v1 ServiceMonitor',
      'gateway.networking.k8s.io/v1 HTTPRoute',
    ])
      expect(schemas.kinds, kind).to.include(kind);
    expect(schemaFileName('Deployment', 'apps/v1')).to.equal('deployment-apps-v1.json');
    expect(schemaFileName('Service', 'v1')).to.equal('service-v1.json');
    expect(schemaFileName('HTTPRoute', 'gateway.networking.k8s.io/v1')).to.equal('httproute-gateway-v1.json');
  });

  it('kubeconform with the offline strict schemas accepts the good fixture chart', async function () {
    const text = await helmTemplate(helm, fixture('good-chart'));
    const { checked, problems } = await kubeconform(kc, schemas, text);
    expect(problems, JSON.stringify(problems, null, 1)).to.deep.equal([]);
    expect(checked).to.equal(parseManifests(text).length);
  });

  it('kubeconform with the offline strict schemas refuses unknown fields, wrong types, unknown kinds, missing required fields', async function () {
    const text = readFileSync(fixture('schema-bad.yaml'), 'utf8');
    const { problems } = await kubeconform(kc, schemas, text);
    const byObject = Object.fromEntries(problems.map((p) => [p.object, p.message]));
    expect(Object.keys(byObject).sort()).to.deep.equal([
      'Deployment/typo',
      'HTTPRoute/missing-required',
      'Pod/wrong-type',
      'ServiceMonitor/crd-typo',
      'Widget/unknown-kind',
    ]);
    expect(byObject['Deployment/typo']).to.match(/additional properties 'replica' not allowed/);
    expect(byObject['Pod/wrong-type']).to.match(/containerPort': got string, want integer/);
    expect(byObject['ServiceMonitor/crd-typo']).to.match(/additional properties 'prot' not allowed/);
    expect(byObject['Widget/unknown-kind']).to.match(/could not find schema for Widget/);
    expect(byObject['HTTPRoute/missing-required']).to.match(/missing propert(y|ies) 'name'/);
  });

  it('without -strict kubeconform finds no schema at all (the set is strict only)', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'et-kc-lax-'));
    try {
      writeFileSync(join(dir, 'm.yaml'), await helmTemplate(helm, fixture('good-chart')));
      const lax = await run(kc, [
        '-schema-location',
        schemas.location,
        '-kubernetes-version',
        kubernetesVersion,
        join(dir, 'm.yaml'),
      ]);
      expect(lax.code).to.equal(1);
      expect(lax.stdout).to.match(/could not find schema for Deployment/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the policy checks pass the good fixture chart', async function () {
    const objects = parseManifests(await helmTemplate(helm, fixture('good-chart')));
    const findings = checkPolicies(objects);
    expect(findings, formatFindings(findings)).to.deep.equal([]);
  });

  it('every policy rule fails the bad fixture chart', async function () {
    const objects = parseManifests(await helmTemplate(helm, fixture('bad-chart')));
    // the bad chart is valid Kubernetes: only the policies can see what is wrong with it
    expect((await kubeconform(kc, schemas, await helmTemplate(helm, fixture('bad-chart')))).problems).to.deep.equal([]);
    const findings = checkPolicies(objects);
    const fired = new Set(findings.map((f) => f.rule));
    expect(Object.keys(RULES).filter((r) => !fired.has(r as keyof typeof RULES))).to.deep.equal([]);
    const messages = formatFindings(findings);
    expect(messages).to.include(
      '[image-tag] Deployment/et-api (fixture-bad/templates/bad.yaml): container api: image "registry.example/fixture/api:latest" is tagged latest',
    );
    expect(messages).to.include(
      '[pdb] Deployment/et-web (fixture-bad/templates/bad.yaml): runs 3 replicas and no PodDisruptionBudget selects its pods',
    );
    expect(messages).to.include(
      '[service-ports] Service/et-api (fixture-bad/templates/bad.yaml): port http targets "https"',
    );
  });

  it('a workload whose selector misses its pod labels, and a Service on a missing numbered port, are found', function () {
    const base = parseManifests(readFileSync(fixture('schema-bad.yaml'), 'utf8')).find((o) => o.kind === 'Deployment')!;
    const dep: K8sObject = JSON.parse(JSON.stringify(base));
    dep.spec.selector = { matchLabels: { app: 'other' } };
    dep.spec.template.spec.containers[0].ports = [{ containerPort: 8080 }];
    const svc: K8sObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's', namespace: dep.metadata.namespace },
      spec: { selector: { app: 'a' }, ports: [{ port: 80, targetPort: 9090 }] },
    };
    const rules = checkPolicies([dep, svc]).map((f) => `${f.rule} ${f.object}: ${f.message}`);
    expect(rules).to.include('selector Deployment/typo: spec.selector does not match the pod template labels');
    expect(rules).to.include('service-ports Service/s: port 80 targets 9090, which Deployment/typo does not declare');
  });

  it('label selectors and image references are read as Kubernetes reads them', function () {
    expect(selects({}, { a: '1' })).to.equal(true);
    expect(selects({ matchLabels: { a: '1' } }, { a: '1', b: '2' })).to.equal(true);
    expect(selects({ matchExpressions: [{ key: 'a', operator: 'In', values: ['2'] }] }, { a: '1' })).to.equal(false);
    expect(selects({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, { b: '1' })).to.equal(true);
    expect(imageTag('localhost:5001/eventtickets/gateway')).to.deep.equal({ tag: '', digest: false });
    expect(imageTag('localhost:5001/eventtickets/gateway:dev')).to.deep.equal({ tag: 'dev', digest: false });
    expect(imageTag('postgres:17.6-alpine@sha256:abc')).to.deep.equal({ tag: '17.6-alpine', digest: true });
  });

  it("values.schema.json refuses a bad value with a message naming the key (the good fixture's latest tag)", async function () {
    const r = await run(helm, [
      'template',
      'et',
      fixture('good-chart'),
      '--values',
      fixture('values-bad-fixture.yaml'),
    ]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/values don't meet the specifications of the schema/);
    expect(r.stderr).to.match(/image[./]tag/);
  });
});
