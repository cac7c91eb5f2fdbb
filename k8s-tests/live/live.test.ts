// The live suite: the umbrella chart on a real cluster (kind with ingress, see .github/workflows or the
// README). Runs only when KUBECONFIG is set; otherwise it says "not run: no cluster" and defines no test (the
// one suite CI accepts not running, DESIGN.md "Skips"). With a cluster: install into a fresh namespace, wait
// until ready, buy a ticket through the ingress, helm upgrade to another image tag under continuous traffic
// with 0 failed requests, helm rollback, uninstall.
// Environment (defaults for the kind setup of the README):
//   LIVE_BASE_URL     the ingress URL of the app          (http://eventtickets.localhost)
//   LIVE_VALUES       values file for the install         (charts/eventtickets/values-ci.yaml)
//   LIVE_IMAGE_TAG    image tag installed first           (ci)
//   LIVE_UPGRADE_TAG  image tag of the upgrade            (ci-next; the same images retagged will do)
//   LIVE_IMAGE_REGISTRY  global.imageRegistry for both     (the values file's; '' for images loaded into kind)
//   LIVE_ORGANIZER_EMAIL / LIVE_BUYER_EMAIL / LIVE_DEMO_PASSWORD: the seeded demo accounts
//                     (organizer@example.com / buyer@example.com / values-ci's DEMO_PASSWORD)
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { waitFor } from '@eventtickets/platform/testing';
import { api, createSeatedEvent, login } from '../../load/onsale/api.ts';
import { REPO_ROOT, requireTool, run, runOk } from '../lib/tools.ts';

const KUBECONFIG = process.env.KUBECONFIG;
const base = process.env.LIVE_BASE_URL ?? 'http://eventtickets.localhost';
const values = process.env.LIVE_VALUES ?? join(REPO_ROOT, 'charts', 'eventtickets', 'values-ci.yaml');
const tag = process.env.LIVE_IMAGE_TAG ?? 'ci';
const upgradeTag = process.env.LIVE_UPGRADE_TAG ?? 'ci-next';
const registry = process.env.LIVE_IMAGE_REGISTRY;
const password = process.env.LIVE_DEMO_PASSWORD ?? 'eventtickets-ci-password';
const CHART = join(REPO_ROOT, 'charts', 'eventtickets');
const RELEASE = 'et';

if (!KUBECONFIG) {
  console.log('k8s-tests/live: not run: no cluster (KUBECONFIG is not set)');
} else {
  describe('k8s-tests live: install, buy through the ingress, upgrade under traffic, rollback, uninstall', function () {
    this.timeout(3_600_000);
    const namespace = `et-live-${randomBytes(3).toString('hex')}`;
    let helm: string;
    let kubectl: string;
    let installed = false;

    const step = (what: string) => console.log(`      live: ${what}`);
    const images = async (): Promise<string[]> => {
      const out = await runOk(kubectl, ['get', 'deployments', '-n', namespace, '-o', 'json']);
      return (JSON.parse(out).items as any[]).flatMap((d) => d.spec.template.spec.containers.map((c: any) => c.image));
    };
    const helmArgs = (imageTag: string) => [
      '-n',
      namespace,
      '-f',
      values,
      '--set',
      `global.imageTag=${imageTag}`,
      ...(registry === undefined ? [] : ['--set', `global.imageRegistry=${registry}`]),
      '--wait',
      '--timeout',
      '15m',
    ];

    before(function () {
      helm = requireTool(this, 'helm');
      kubectl = requireTool(this, 'kubectl');
    });

    after(async function () {
      if (!helm || !kubectl) return;
      if (installed) await run(helm, ['uninstall', RELEASE, '-n', namespace, '--wait', '--timeout', '5m']);
      await run(kubectl, ['delete', 'namespace', namespace, '--ignore-not-found', '--wait=true', '--timeout=5m']);
    });

    it('runs a release through its whole life with 0 failed requests during the upgrade', async function () {
      step(`install ${RELEASE} (${tag}) into the fresh namespace ${namespace}`);
      await runOk(kubectl, ['create', 'namespace', namespace]);
      installed = true;
      await runOk(helm, ['install', RELEASE, CHART, ...helmArgs(tag)], { timeoutMs: 1_200_000 });
      await runOk(
        kubectl,
        ['wait', '-n', namespace, '--for=condition=Available', 'deployment', '--all', '--timeout=10m'],
        {
          timeoutMs: 700_000,
        },
      );
      await waitFor(
        'the app through the ingress',
        async () => (await api(base, 'GET', '/api/events?limit=1')).status === 200,
        {
          timeoutMs: 300_000,
          intervalMs: 2_000,
        },
      );

      step('buy a ticket through the ingress');
      const organizer = await login(base, process.env.LIVE_ORGANIZER_EMAIL ?? 'organizer@example.com', password);
      const buyer = await login(base, process.env.LIVE_BUYER_EMAIL ?? 'buyer@example.com', password);
      const eventId = await createSeatedEvent(base, organizer, { title: `Live ${namespace}`, rows: 2, seatsPerRow: 5 });
      const seats = await waitFor('availability of the new event', async () => {
        const res = await api(base, 'GET', `/api/events/${eventId}/availability`);
        return res.status === 200 && Object.keys(res.body.seats ?? {}).length
          ? (res.body.seats as Record<string, string>)
          : undefined;
      });
      const seat = Object.keys(seats)[0];
      const hold = await api(base, 'POST', '/api/holds', { token: buyer, body: { eventId, seats: [seat] } });
      expect(hold.status, JSON.stringify(hold.body)).to.equal(201);
      const card = { number: '4242 4242 4242 4242', expMonth: 12, expYear: new Date().getFullYear() + 2, cvc: '123' };
      const method = await api(base, 'POST', '/api/payments/methods', { token: buyer, body: { card } });
      expect(method.status, JSON.stringify(method.body)).to.equal(201);
      const withKey = async (path: string, body: unknown, key: string) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${buyer}`, 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify(body),
        }).then(async (r) => ({ status: r.status, body: await r.json() }));
      const order = await withKey('/api/orders', { holdId: hold.body.id }, `live-order-${hold.body.id}`);
      expect(order.status, JSON.stringify(order.body)).to.equal(201);
      const paid = await withKey(
        `/api/orders/${order.body.id}/pay`,
        { paymentMethodId: method.body.id },
        `live-pay-${order.body.id}`,
      );
      expect(paid.status, JSON.stringify(paid.body)).to.equal(200);
      expect(paid.body.status).to.equal('confirmed');
      const tickets = await api(base, 'GET', '/api/tickets', { token: buyer });
      expect(tickets.body.items.some((t: any) => t.orderId === order.body.id)).to.equal(true);

      step(`helm upgrade to ${upgradeTag} under continuous traffic`);
      let stop = false;
      const tally = { ok: 0, failed: [] as string[] };
      const traffic = async () => {
        // bounded: stops with the upgrade, and after 200 000 requests whatever happens
        while (!stop && tally.ok + tally.failed.length < 200_000) {
          try {
            const res = await fetch(`${base}/api/events?limit=5`, { signal: AbortSignal.timeout(10_000) });
            await res.arrayBuffer();
            if (res.status === 200) tally.ok++;
            else tally.failed.push(`${res.status}`);
          } catch (err) {
            tally.failed.push((err as Error).message);
          }
        }
      };
      const loops = [traffic(), traffic(), traffic()];
      try {
        await runOk(helm, ['upgrade', RELEASE, CHART, ...helmArgs(upgradeTag)], { timeoutMs: 1_200_000 });
        await runOk(kubectl, ['rollout', 'status', '-n', namespace, 'deployment', '--timeout=10m'], {
          timeoutMs: 700_000,
        });
      } finally {
        stop = true;
        await Promise.all(loops);
      }
      step(`${tally.ok} requests answered 200 during the upgrade, ${tally.failed.length} failed`);
      expect(tally.failed.slice(0, 20), `${tally.failed.length} failed requests during the upgrade`).to.deep.equal([]);
      expect(tally.ok).to.be.greaterThan(0);
      expect(
        (await images()).filter((i) => /(^|\/)eventtickets\//.test(i) && !i.endsWith(`:${upgradeTag}`)),
      ).to.deep.equal([]);

      step('helm rollback to the first revision');
      await runOk(helm, ['rollback', RELEASE, '1', '-n', namespace, '--wait', '--timeout', '15m'], {
        timeoutMs: 1_200_000,
      });
      expect((await images()).filter((i) => /(^|\/)eventtickets\//.test(i) && !i.endsWith(`:${tag}`))).to.deep.equal(
        [],
      );
      await waitFor(
        'the app after the rollback',
        async () => (await api(base, 'GET', '/api/events?limit=1')).status === 200,
        {
          timeoutMs: 300_000,
          intervalMs: 2_000,
        },
      );

      step('uninstall');
      await runOk(helm, ['uninstall', RELEASE, '-n', namespace, '--wait', '--timeout', '10m'], { timeoutMs: 700_000 });
      installed = false;
      expect((await runOk(helm, ['list', '-n', namespace, '-q'])).trim()).to.equal('');
    });
  });
}
