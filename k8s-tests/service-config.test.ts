// Every service container the charts render starts: the environment it gets (its ConfigMaps, literal values,
// `$(VAR)` references, Secrets replaced by plausible values of the right shape) passes that service's own
// config schema (services/<svc>/src/config.ts), for every value set. A variable a service requires that a chart
// forgot, or a value it refuses, fails here instead of in a crash-looping pod.
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@eventtickets/platform';
import { helmTemplate, parseManifests } from './lib/manifests.ts';
import { REPO_ROOT, requireTool } from './lib/tools.ts';

const UMBRELLA = join(REPO_ROOT, 'charts', 'eventtickets');

/** A Secret's value as an operator would provide it, by the key it is read from. */
function secretValue(key: string, service: string): string {
  if (key === 'redis-url') return 'redis://:p@r1:6379,redis://:p@r2:6379,redis://:p@r3:6379';
  if (key === 'smtp-url') return 'smtp://user:pass@smtp.example.net:465';
  if (key.endsWith('database-url')) return `postgres://u:p@db.example.net:5432/${service}`;
  if (/jwt|jwks/i.test(key)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return JSON.stringify([{ ...privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' }]);
  }
  return 'S'.repeat(43);
}

function containerEnv(deployment: any, configMaps: Map<string, Record<string, string>>, service: string) {
  const container = deployment.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? [])
    if (from.configMapRef) Object.assign(env, configMaps.get(from.configMapRef.name) ?? {});
  for (const e of container.env ?? []) {
    const raw: string =
      e.value ??
      (e.valueFrom?.secretKeyRef ? secretValue(e.valueFrom.secretKeyRef.key, service) : undefined) ??
      (e.valueFrom?.configMapKeyRef
        ? (configMaps.get(e.valueFrom.configMapKeyRef.name)?.[e.valueFrom.configMapKeyRef.key] ?? '')
        : '');
    env[e.name] = raw.replace(/\$\(([A-Z0-9_]+)\)/g, (_, name: string) => env[name] ?? '');
  }
  return env;
}

const valueFiles = existsSync(UMBRELLA)
  ? ['', ...readdirSync(UMBRELLA).filter((f) => /^values-.+\.ya?ml$/.test(f))].sort()
  : [];

describe('k8s-tests: every service accepts the configuration the charts give it', function () {
  this.timeout(300_000);
  let helm: string;
  before(function () {
    helm = requireTool(this, 'helm');
  });

  for (const file of valueFiles) {
    it(`with ${file || 'values.yaml (defaults)'}`, async function () {
      const objects = parseManifests(
        await helmTemplate(helm, UMBRELLA, file ? { valuesFiles: [join(UMBRELLA, file)] } : {}),
      ) as any[];
      const configMaps = new Map<string, Record<string, string>>(
        objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]),
      );
      const services = readdirSync(join(REPO_ROOT, 'services')).filter((s) =>
        existsSync(join(REPO_ROOT, 'services', s, 'src', 'main.ts')),
      );
      const checked: string[] = [];
      const refused: string[] = [];
      for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
        const service = deployment.metadata.labels?.['app.kubernetes.io/component'];
        if (!services.includes(service)) continue;
        const { configSchema } = await import(join(REPO_ROOT, 'services', service, 'src', 'config.ts'));
        try {
          loadConfig(configSchema, containerEnv(deployment, configMaps, service));
          checked.push(service);
        } catch (err) {
          refused.push(`${service}: ${(err as Error).message}`);
        }
      }
      expect(refused, refused.join('\n')).to.deep.equal([]);
      expect(checked.sort(), 'every service rendered once').to.deep.equal([...services].sort());
    });
  }
});
