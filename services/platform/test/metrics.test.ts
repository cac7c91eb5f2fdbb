import { expect } from 'chai';
import Router from '@koa/router';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { createContract } from '../src/contracts.ts';
import { createServiceApp, listen, type RunningServer } from '../src/http.ts';

/** The sample lines of one metric family in Prometheus text format. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

/** Value of the sample of `name` whose labels are exactly `labels` (in any order), or undefined. */
function sampleValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of samples(text, name)) {
    const m = /^[^{]+\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const found = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (
      Object.keys(found).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => found[k] === v)
    )
      return Number(m[2]);
  }
  return undefined;
}

describe('platform/metrics: RED middleware and /metrics', () => {
  const logger = createLogger('items', { level: 'silent' });
  let routerServer: RunningServer;
  let contractServer: RunningServer;

  before(async () => {
    // A service whose routes come from @koa/router only.
    const app = createServiceApp({ service: 'items', logger, metrics: createMetrics('items') });
    const router = new Router();
    router.get('/api/things/:id', (ctx) => {
      ctx.body = { id: ctx.params.id };
    });
    router.post('/api/things/:id/fail', () => {
      throw new Error('boom');
    });
    app.use(router.routes());
    routerServer = await listen(app.callback(), 0);

    // A service with a contract: the OpenAPI path template is the label.
    const contract = await createContract(fileURLToPath(new URL('./fixtures/items.openapi.yaml', import.meta.url)));
    const app2 = createServiceApp({
      service: 'items-contract',
      logger,
      metrics: createMetrics('items-contract', { collectDefault: false }),
      contract,
    });
    app2.use((ctx) => {
      if (ctx.path.startsWith('/api/items/')) ctx.body = { id: ctx.path.split('/').pop(), name: 'x', quantity: 1 };
    });
    contractServer = await listen(app2.callback(), 0);
  });
  after(async () => {
    await routerServer?.close(1000);
    await contractServer?.close(1000);
  });

  it('labels requests by route template, never by raw path, with method and status', async () => {
    for (const id of ['a1', 'b2', 'c3'])
      expect((await fetch(`${routerServer.url}/api/things/${id}`)).status).to.equal(200);
    expect((await fetch(`${routerServer.url}/api/things/zz/fail`, { method: 'POST' })).status).to.equal(500);
    expect((await fetch(`${routerServer.url}/nowhere/123`)).status).to.equal(404);

    const res = await fetch(`${routerServer.url}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain/);
    const text = await res.text();
    const count = (labels: Record<string, string>) =>
      sampleValue(text, 'http_server_request_duration_seconds_count', { service: 'items', ...labels });
    expect(count({ method: 'GET', route: '/api/things/:id', status_code: '200' })).to.equal(3);
    expect(count({ method: 'POST', route: '/api/things/:id/fail', status_code: '500' })).to.equal(1);
    expect(count({ method: 'GET', route: 'unmatched', status_code: '404' })).to.equal(1);
    expect(text).not.to.match(/route="[^"]*(a1|b2|c3|zz|123)[^"]*"/);
    // Histogram buckets exist for the latency part of RED.
    expect(
      samples(text, 'http_server_request_duration_seconds_bucket').some(
        (l) => l.includes('le="0.005"') && l.includes('route="/api/things/:id"'),
      ),
    ).to.equal(true);
    // Default process metrics are served too, and the scrape itself is not measured.
    expect(text).to.match(/^process_cpu_user_seconds_total\{service="items"\} /m);
    expect(text).not.to.include('route="/metrics"');
  });

  it('uses the OpenAPI path template when the contract matched the request', async () => {
    await fetch(`${contractServer.url}/api/items/abc`);
    await fetch(`${contractServer.url}/api/items/def`);
    await fetch(`${contractServer.url}/api/items/NOT_VALID!`); // 400 from the contract, still templated
    const text = await (await fetch(`${contractServer.url}/metrics`)).text();
    const count = (labels: Record<string, string>) =>
      sampleValue(text, 'http_server_request_duration_seconds_count', { service: 'items-contract', ...labels });
    expect(count({ method: 'GET', route: '/api/items/{id}', status_code: '200' })).to.equal(2);
    expect(count({ method: 'GET', route: '/api/items/{id}', status_code: '400' })).to.equal(1);
    expect(text).not.to.match(/route="[^"]*(abc|def|NOT_VALID)/);
  });
});
