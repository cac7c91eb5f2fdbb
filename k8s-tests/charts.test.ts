// The real charts (charts/): helm lint --strict on every chart, helm template with every value set, every
// rendered object validated by kubeconform -strict against the offline schemas of the pinned Kubernetes
// version (and the prometheus-operator and Gateway API CRDs), the policy checks, and values.schema.json
// refusing a bad values file with a message naming the key.
import { expect } from 'chai';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureSchemas, type SchemaSet } from './lib/schemas.ts';
import { describeObject, helmTemplate, kubeconform, parseManifests, type RenderOptions } from './lib/manifests.ts';
import { checkPolicies, formatFindings } from './lib/policy.ts';
import { K8S_TESTS_DIR, REPO_ROOT, requireTool, run } from './lib/tools.ts';

const CHARTS = join(REPO_ROOT, 'charts');
const UMBRELLA = join(CHARTS, 'eventtickets');

/** Every chart directory under charts/ (a Chart.yaml), not following symbolic links (the library is linked in). */
function chartDirs(dir = CHARTS): string[] {
  const out: string[] = [];
  if (existsSync(join(dir, 'Chart.yaml'))) out.push(dir);
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (lstatSync(path).isDirectory() && !['templates', 'node_modules'].includes(entry)) out.push(...chartDirs(path));
  }
  return out;
}

/** The umbrella's value sets: its defaults, each values-*.yaml, and the switches that change which kinds render. */
function valueSets(): { name: string; opts: RenderOptions; renders?: string[] }[] {
  const files = existsSync(UMBRELLA)
    ? readdirSync(UMBRELLA)
        .filter((f) => /^values-.+\.ya?ml$/.test(f))
        .sort()
    : [];
  return [
    { name: 'values.yaml (defaults)', opts: {} },
    ...files.map((f) => ({ name: f, opts: { valuesFiles: [join(UMBRELLA, f)] } })),
    ...files.map((f) => ({
      name: `${f} on a cluster with the Prometheus Operator (ServiceMonitors)`,
      opts: {
        valuesFiles: [join(UMBRELLA, f)],
        apiVersions: ['monitoring.coreos.com/v1', 'monitoring.coreos.com/v1/ServiceMonitor'],
      },
      renders: ['ServiceMonitor'],
    })),
    {
      name: 'defaults with Gateway API HTTPRoute instead of Ingress',
      opts: {
        apiVersions: ['gateway.networking.k8s.io/v1'],
        set: ['ingress.enabled=false', 'httpRoute.enabled=true', 'httpRoute.parentRefs[0].name=public'],
      },
      renders: ['HTTPRoute'],
    },
    {
      name: 'defaults with Ingress and autoscaling on every service',
      opts: {
        set: [
          'ingress.enabled=true',
          ...['gateway', 'users', 'catalog', 'inventory', 'orders', 'payments', 'notifications'].map(
            (s) => `${s}.autoscaling.enabled=true`,
          ),
        ],
      },
      renders: ['Ingress', 'HorizontalPodAutoscaler'],
    },
  ];
}

describe('k8s-tests: charts/ (helm lint, helm template, kubeconform, policies)', function () {
  this.timeout(600_000);
  let helm: string;
  let kc: string;
  let schemas: SchemaSet;

  before(async function () {
    helm = requireTool(this, 'helm');
    kc = requireTool(this, 'kubeconform');
    schemas = await ensureSchemas(requireTool(this, 'go'));
  });

  it('the umbrella chart exists with a values.schema.json for it and every subchart', function () {
    expect(existsSync(join(UMBRELLA, 'Chart.yaml')), 'charts/eventtickets/Chart.yaml').to.equal(true);
    const missing = chartDirs()
      .filter((d) => !/^type:\s*library\s*$/m.test(readFileSync(join(d, 'Chart.yaml'), 'utf8')))
      .filter((d) => !existsSync(join(d, 'values.schema.json')))
      .map((d) => relative(REPO_ROOT, d));
    expect(missing, 'charts without values.schema.json').to.deep.equal([]);
  });

  it('helm lint --strict passes on every chart, and on the umbrella with every values file', async function () {
    const failures: string[] = [];
    const lint = async (label: string, args: string[]) => {
      const r = await run(helm, ['lint', '--strict', ...args]);
      if (r.code !== 0) failures.push(`${label}:\n${r.stdout}${r.stderr}`);
    };
    for (const dir of chartDirs()) await lint(relative(REPO_ROOT, dir), [dir]);
    for (const set of valueSets().filter((s) => s.opts.valuesFiles))
      await lint(`eventtickets with ${set.name}`, [UMBRELLA, ...set.opts.valuesFiles!.flatMap((f) => ['--values', f])]);
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });

  for (const set of valueSets()) {
    describe(`value set: ${set.name}`, function () {
      let text: string;
      before(async function () {
        if (!helm) this.skip();
        text = await helmTemplate(helm, UMBRELLA, set.opts);
      });

      it('renders objects that kubeconform -strict accepts (offline schemas, no kind skipped)', async function () {
        const { checked, problems } = await kubeconform(kc, schemas, text);
        expect(problems.map((p) => `${p.object}: ${p.message}`).join('\n')).to.equal('');
        expect(checked).to.equal(parseManifests(text).length);
      });

      if (set.renders)
        it(`renders what the switch is for: ${set.renders.join(', ')}`, function () {
          const kinds = new Set(parseManifests(text).map((o) => o.kind));
          expect(
            set.renders!.filter((k) => !kinds.has(k)),
            'kinds not rendered',
          ).to.deep.equal([]);
        });

      it('passes every policy check', function () {
        const objects = parseManifests(text);
        expect(objects.map(describeObject)).to.not.deep.equal([]);
        const findings = checkPolicies(objects);
        expect(findings, `\n${formatFindings(findings)}`).to.deep.equal([]);
      });
    });
  }

  it('global.appUrl reaches notifications as APP_URL (the links in mails and SMS), and nothing is guessed without it', async function () {
    const appUrlOf = async (set: string[]) => {
      const objects = parseManifests(await helmTemplate(helm, UMBRELLA, { set }));
      const deployment = objects.find((o) => o.kind === 'Deployment' && /notifications$/.test(o.metadata?.name ?? ''));
      expect(deployment, 'the notifications Deployment').to.not.equal(undefined);
      const env = (deployment as any).spec.template.spec.containers[0].env as { name: string; value?: string }[];
      return env.filter((e) => e.name === 'APP_URL').map((e) => e.value);
    };
    expect(await appUrlOf(['global.appUrl=https://tickets.example.org'])).to.deep.equal([
      'https://tickets.example.org',
    ]);
    expect(await appUrlOf([])).to.deep.equal([]);
  });

  it('values.schema.json refuses a misspelt key with a message naming it (k8s-tests/fixtures/values-bad.yaml)', async function () {
    const r = await run(helm, [
      'template',
      'et',
      UMBRELLA,
      '--values',
      join(K8S_TESTS_DIR, 'fixtures', 'values-bad.yaml'),
    ]);
    expect(r.code, r.stdout.slice(0, 500)).to.equal(1);
    expect(r.stderr).to.match(/values don't meet the specifications of the schema/);
    expect(r.stderr).to.match(/replicaCuont/);
  });
});
