// Observability through `npm start` (issue 17): one purchase through the gateway is one trace across gateway,
// orders, payments and inventory, its asynchronous steps included (the outbox relay's publish span and the
// consumer's process span); every service's /metrics (the URLs npm start prints) has the RED histogram labelled
// by route templates only; and the drift check: every metric a Grafana dashboard panel or a Prometheus alert rule
// queries (names read by the Prometheus project's own PromQL grammar, @prometheus-io/lezer-promql) is exported
// by some service of the running stack. Spans arrive at an in-process OTLP/HTTP receiver.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { gatewayApi, requireBinary, waitFor, type GatewayCallOptions } from '@eventtickets/platform/testing';
import { StackProcess, freePortRange, repoRoot, tempDataDir } from '../scripts/test/stack-process.ts';
import { stackServices } from '../scripts/stack/services.ts';

const DEMO_PASSWORD = 'e2e-demo-password-123';
const DASHBOARDS = join(repoRoot, 'charts', 'eventtickets', 'charts', 'grafana', 'dashboards');
const RULES = join(repoRoot, 'charts', 'eventtickets', 'charts', 'prometheus', 'rules');

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  service: string;
  links?: Array<{ traceId: string; spanId: string }>;
}

/** An OTLP/HTTP (JSON) receiver keeping every span it is sent on /v1/traces. */
async function startOtlpReceiver() {
  const spans: OtlpSpan[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8').on('data', (c) => (raw += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces' && raw) {
        const body = JSON.parse(raw);
        for (const rs of body.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a: any) => a.key === 'service.name')?.value?.stringValue;
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ ...s, service });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Metric names a Prometheus text exposition declares (# TYPE), with the series names a histogram or summary
 *  adds; a labelled counter nobody incremented yet still declares its name. */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!m) continue;
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}

/** Grafana's interval variables are not PromQL: give them a duration before parsing. */
function grafanaToPromql(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');
}

/** Parses one PromQL expression strictly (a syntax error throws) and returns the metric names it selects. */
export function metricNames(expr: string): string[] {
  const source = grafanaToPromql(expr);
  const tree = parser.configure({ strict: true }).parse(source);
  const names: string[] = [];
  tree.iterate({
    enter: (node) => {
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) names.push(source.slice(id.from, id.to));
        // {__name__="x"} names a metric too
        const byName = /__name__\s*=\s*"([^"]+)"/.exec(source.slice(node.from, node.to));
        if (byName) names.push(byName[1]!);
      }
    },
  });
  return names;
}

interface Query {
  where: string;
  expr: string;
}

function dashboardQueries(): Query[] {
  const out: Query[] = [];
  const files = readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'));
  expect(files, 'dashboards in the chart').to.include.members([
    'platform-overview.json',
    'on-sale.json',
    'orders-payments.json',
  ]);
  for (const file of files) {
    const dashboard = JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8'));
    expect(dashboard.uid, `${file} uid`).to.be.a('string');
    expect(dashboard.panels, `${file} panels`).to.be.an('array').that.is.not.empty;
    for (const panel of dashboard.panels) {
      const where = `${file} panel "${panel.title}"`;
      expect(panel.description, `${where} description`).to.be.a('string').with.length.above(20);
      expect(panel.targets, `${where} targets`).to.be.an('array').that.is.not.empty;
      for (const t of panel.targets) out.push({ where, expr: t.expr });
    }
    for (const v of dashboard.templating?.list ?? []) {
      const q = typeof v.query === 'string' ? v.query : v.query?.query;
      const m = /label_values\((.+),\s*\w+\)/.exec(q ?? '');
      if (m) out.push({ where: `${file} variable ${v.name}`, expr: m[1]! });
    }
  }
  return out;
}

function ruleQueries(): Array<Query & { alert?: string; runbook?: string }> {
  const out: Array<Query & { alert?: string; runbook?: string }> = [];
  for (const file of readdirSync(RULES).filter((f) => /\.ya?ml$/.test(f))) {
    const doc = parseYaml(readFileSync(join(RULES, file), 'utf8'));
    expect(doc.groups, `${file} groups`).to.be.an('array').that.is.not.empty;
    for (const group of doc.groups) {
      expect(group.name, `${file} group name`).to.be.a('string');
      for (const rule of group.rules) {
        expect(rule.alert ?? rule.record, `${file} rule name`).to.be.a('string');
        if (rule.for !== undefined) expect(rule.for, `${rule.alert} for`).to.match(/^(\d+[smhdwy])+$/);
        out.push({
          where: `${file} ${rule.alert ?? rule.record}`,
          expr: rule.expr,
          alert: rule.alert,
          runbook: rule.annotations?.runbook_url,
        });
      }
    }
  }
  return out;
}

/** A service that exists but has not joined npm start yet (scripts/stack/services.ts) cannot be scraped: its
 *  metric counts as exported when its own src/metrics.ts declares that exact name. Once it joins the stack, the
 *  scrape decides. */
function declaredByServiceOutsideStack(metric: string): boolean {
  const service = metric.split('_')[0]!;
  if (stackServices.some((s) => s.name === service)) return false;
  const base = metric.replace(/_(bucket|sum|count)$/, '');
  try {
    const source = readFileSync(join(repoRoot, 'services', service, 'src', 'metrics.ts'), 'utf8');
    return source.includes(`name: '${metric}'`) || source.includes(`name: '${base}'`);
  } catch {
    return false;
  }
}

describe('e2e: observability of the local stack (traces, /metrics, dashboards and alerts)', function () {
  this.timeout(300_000);
  let stack: StackProcess;
  let dataDir: string;
  let gw: string;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let metricsUrls: Map<string, string>;

  before(async function () {
    requireBinary(this, 'redis-server', 'apt-get install -y redis-server');
    receiver = await startOtlpReceiver();
    dataDir = tempDataDir();
    stack = new StackProcess(
      {
        PORT: '0',
        SERVICE_PORT_BASE: String(await freePortRange()),
        DEMO_PASSWORD,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
      dataDir,
    );
    gw = await stack.ready();
    // npm start prints where every service's /metrics is
    metricsUrls = new Map(
      [...stack.output.matchAll(/^.*\|\s+(\w+)\s+(http:\/\/\S+)\s+\(metrics (http:\/\/\S+\/metrics)\)/gm)].map((m) => [
        m[1]!,
        m[3]!,
      ]),
    );
  });

  after(async () => {
    if (stack) expect(await stack.stop('SIGINT')).to.equal(0);
    await receiver?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const api = (method: string, path: string, opts?: GatewayCallOptions) => gatewayApi(gw)(method, path, opts);

  /** A buyer buys one seat; the pay request carries our traceparent, so its trace id is known. */
  async function purchase(traceId: string): Promise<string> {
    const login = await api('POST', '/api/auth/login', {
      body: { email: 'buyer@example.com', password: DEMO_PASSWORD },
    });
    expect(login.status, JSON.stringify(login.body)).to.equal(200);
    const buyer = login.body.accessToken as string;
    const events = await api('GET', '/api/events?q=Harbour');
    const event = events.body.items.find((e: any) => e.title === 'Harbour Lights Orchestra');
    const seats = await waitFor('availability from inventory', async () => {
      const res = await api('GET', `/api/events/${event.id}/availability`);
      return res.status === 200 && Object.keys(res.body.seats).length > 0
        ? (res.body.seats as Record<string, string>)
        : undefined;
    });
    const seat = Object.entries(seats).filter(([, state]) => state === 'available')[3]![0];
    const hold = await api('POST', '/api/holds', { token: buyer, body: { eventId: event.id, seats: [seat] } });
    expect(hold.status, JSON.stringify(hold.body)).to.equal(201);
    const card = { number: '4242 4242 4242 4242', expMonth: 12, expYear: new Date().getFullYear() + 2, cvc: '123' };
    const method = await api('POST', '/api/payments/methods', { token: buyer, body: { card } });
    expect(method.status, JSON.stringify(method.body)).to.equal(201);
    const order = await api('POST', '/api/orders', {
      token: buyer,
      body: { holdId: hold.body.id },
      headers: { 'idempotency-key': `obs-order-${hold.body.id}` },
    });
    expect(order.status, JSON.stringify(order.body)).to.equal(201);
    const paid = await api('POST', `/api/orders/${order.body.id}/pay`, {
      token: buyer,
      body: { paymentMethodId: method.body.id },
      headers: {
        'idempotency-key': `obs-pay-${order.body.id}`,
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
      },
    });
    expect(paid.status, JSON.stringify(paid.body)).to.equal(200);
    expect(paid.body.status).to.equal('confirmed');
    return order.body.id;
  }

  it('one purchase is one trace: gateway, orders, payments and inventory, and the relayed events continue it', async () => {
    const traceId = randomBytes(16).toString('hex');
    await purchase(traceId);
    const trace = () => receiver.spans.filter((s) => s.traceId === traceId);
    const hops = ['gateway', 'orders', 'payments', 'inventory'];
    // the relay's producer span of an event the pay request enqueued, and a consumer's process span of it
    const complete = () => {
      const spans = trace();
      const services = new Set(spans.map((s) => s.service));
      const producer = spans.find((s) => s.kind === 4 && / publish$/.test(s.name));
      const consumer = spans.find((s) => s.kind === 5 && / process$/.test(s.name));
      // a parent ends (and is exported) after its children: wait until only the root's remote parent is missing
      const ids = new Set(spans.map((s) => s.spanId));
      const orphans = spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId));
      return hops.every((h) => services.has(h)) && producer && consumer && orphans.length <= 1
        ? { spans, producer, consumer }
        : undefined;
    };
    const found = await waitFor('spans of every hop and of the async steps under the pay trace', complete, {
      timeoutMs: 60_000,
    }).catch((err) => {
      const seen = trace().map((s) => `${s.service} ${s.kind} ${s.name}`);
      throw new Error(`${(err as Error).message}; spans of the trace: ${JSON.stringify(seen)}`);
    });
    // the consumer's span is the child of the producer span whose traceparent the stream message carried
    const byId = new Map(found.spans.map((s) => [s.spanId, s]));
    const processes = found.spans.filter((s) => s.kind === 5 && / process$/.test(s.name));
    expect(
      processes.some((p) => byId.get(p.parentSpanId ?? '')?.kind === 4),
      'a process span whose parent is a publish span',
    ).to.equal(true);
    // one tree: the gateway's server span is the only span whose parent (our caller) is not in the trace
    const orphans = found.spans.filter((s) => s.parentSpanId && !byId.has(s.parentSpanId));
    expect(orphans.map((s) => s.service)).to.deep.equal(['gateway']);
  });

  it('npm start prints every service /metrics URL, and each has the RED histogram with route templates only', async () => {
    expect([...metricsUrls.keys()]).to.include.members([
      'users',
      'catalog',
      'inventory',
      'orders',
      'payments',
      'gateway',
    ]);
    for (const [service, url] of metricsUrls) {
      const res = await fetch(url);
      expect(res.status, url).to.equal(200);
      const text = await res.text();
      expect(text, `${service} RED histogram`).to.match(/^# TYPE http_server_request_duration_seconds histogram$/m);
      const routes = new Set(
        [...text.matchAll(/^http_server_request_duration_seconds_count\{(.*)\} \S+$/gm)].map(
          (m) => /route="([^"]*)"/.exec(m[1]!)?.[1],
        ),
      );
      expect(routes.size, `${service} requests counted`).to.be.above(0);
      for (const route of routes) {
        expect(route, `${service} route label`).to.be.a('string');
        // a template ("/api/orders/{id}/pay") or the shared "unmatched": never a raw id, a query or a number
        expect(route === 'unmatched' || /^\/[\w\-./{}]*$/.test(route!), `${service} route ${route}`).to.equal(true);
        expect(route, `${service} route ${route}`).not.to.match(/[0-9a-f]{8}-[0-9a-f]{4}|\/\d+(\/|$)|\?/i);
      }
    }
  });

  it('every dashboard parses and has described panels, every alert rule parses and names its runbook section', () => {
    const queries = [...dashboardQueries(), ...ruleQueries()];
    for (const q of queries) expect(() => metricNames(q.expr), `${q.where}: ${q.expr}`).not.to.throw();
    expect(() => metricNames('sum(rate(foo[5m])')).to.throw(); // the parser is strict: an unclosed call fails
    const runbooks = readFileSync(join(repoRoot, 'docs', 'runbooks.md'), 'utf8');
    const alerts = ruleQueries().filter((r) => r.alert);
    expect(alerts.map((a) => a.alert)).to.include.members([
      'HighErrorRatio',
      'HighLatencyP99',
      'OutboxLagHigh',
      'EventsDeadLettered',
      'PaymentFailureRatioHigh',
      'HoldUnavailableRatioHigh',
      'ServiceRestarting',
      'RedisMasterDown',
    ]);
    for (const a of alerts) {
      expect(a.runbook, `${a.alert} runbook_url`).to.equal(`docs/runbooks.md#${a.alert!.toLowerCase()}`);
      const section = runbooks.split(/^## /m).find((s) => s.startsWith(`${a.alert}\n`));
      expect(section, `runbook section for ${a.alert}`).to.be.a('string');
      expect(section).to.match(/\*\*Meaning\.\*\*/);
      expect(section!.match(/^\d\. /gm), `${a.alert}: the first three checks`).to.have.length(3);
    }
  });

  it('drift check: every metric a dashboard or an alert queries is exported by a service of the running stack', async () => {
    const exported = new Set<string>();
    for (const url of metricsUrls.values())
      for (const n of exportedNames(await (await fetch(url)).text())) exported.add(n);
    const missing: string[] = [];
    let checked = 0;
    for (const q of [...dashboardQueries(), ...ruleQueries()]) {
      for (const name of metricNames(q.expr)) {
        checked++;
        if (exported.has(name) || declaredByServiceOutsideStack(name)) continue;
        missing.push(`${name} (${q.where})`);
      }
    }
    expect(checked).to.be.above(50);
    expect(missing, 'queried but exported by no service').to.deep.equal([]);
  });
});
