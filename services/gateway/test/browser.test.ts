import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { loadOpenApiDocument } from '@eventtickets/platform';
import { launchTestBrowser, type TestBrowser } from '@eventtickets/platform/testing';
import { startFakeUpstream, type FakeUpstream } from '@eventtickets/platform/testing';
import { startGateway, type RunningGateway } from './helpers.ts';

/** The services' real contracts, served the way each service serves its own /openapi.json. */
function contractUpstream(service: string): Promise<FakeUpstream> {
  const document = loadOpenApiDocument(new URL(`../../${service}/openapi.yaml`, import.meta.url).pathname);
  return startFakeUpstream(service, (ctx) => {
    if (ctx.path !== '/openapi.json') return false;
    ctx.body = document;
    return true;
  });
}

// The CSP is only proven by a browser enforcing it: Swagger UI and an app bundle must run with no violation.
// Each page is also kept as a screenshot (test-results/screenshots/gateway-*.png) for a person to look at.
describe('gateway/browser: Swagger UI, the app and the not-built page under the CSP (Chromium)', function () {
  let browser: TestBrowser;
  let gw: RunningGateway;
  let bare: RunningGateway;
  let upstreams: FakeUpstream[] = [];
  let dir: string;
  let emptyDir: string;

  before(async function () {
    browser = await launchTestBrowser(this);
    dir = mkdtempSync(join(tmpdir(), 'gw-browser-'));
    emptyDir = mkdtempSync(join(tmpdir(), 'gw-browser-empty-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><html><head><title>EventTickets app</title><link rel="stylesheet" href="/assets/index-Ab12Cd34.css"><script type="module" src="/assets/index-Ab12Cd34.js"></script></head><body><div id="q-app"></div></body></html>',
    );
    writeFileSync(
      join(dir, 'assets', 'index-Ab12Cd34.css'),
      'body { font-family: sans-serif; margin: 2rem; } #q-app { color: rgb(1, 2, 3); }',
    );
    writeFileSync(
      join(dir, 'assets', 'index-Ab12Cd34.js'),
      "const r = await fetch('/api/events/e1'); document.querySelector('#q-app').textContent = 'loaded ' + (await r.json()).service; document.querySelector('#q-app').style.fontWeight = 'bold';",
    );
    upstreams = await Promise.all(['users', 'catalog', 'inventory'].map(contractUpstream));
    const [users, catalog, inventory] = upstreams;
    gw = await startGateway({
      USERS_URL: users.url,
      CATALOG_URL: catalog.url,
      INVENTORY_URL: inventory.url,
      FRONTEND_DIR: dir,
    });
    bare = await startGateway({ FRONTEND_DIR: emptyDir });
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await bare?.close();
    await Promise.all(upstreams.map((u) => u.close()));
    for (const d of [dir, emptyDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  /** Opens a page, collecting CSP violations and script errors, and waits for `ready`. */
  async function visit(url: string, ready: string): Promise<{ page: Page; violations: string[] }> {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) violations.push(msg.text());
    });
    page.on('pageerror', (err) => violations.push(`page error: ${err.message}`));
    await page.goto(url);
    await page.waitForSelector(ready, { timeout: 20_000 });
    return { page, violations };
  }

  it('renders Swagger UI over the merged contract with no CSP violation', async () => {
    const { page, violations } = await visit(`${gw.url}/docs`, '.opblock-summary-path');
    try {
      await browser.screenshot(page, 'gateway-docs');
      expect(violations).to.deep.equal([]);
      const paths = await page.locator('.opblock-summary-path').allInnerTexts();
      expect(paths.map((p) => p.replace(/\u200b/g, '')))
        .to.include('/api/events/{id}')
        .and.include('/api/auth/login')
        .and.include('/api/holds');
      // Every group Swagger UI draws holds operations (no empty per-service groups), services' own tags first.
      const groups = await page.locator('.opblock-tag-section').evaluateAll((sections) =>
        sections.map((s) => ({
          tag: s.querySelector('.opblock-tag')?.getAttribute('data-tag'),
          operations: s.querySelectorAll('.opblock').length,
        })),
      );
      const merged = await (await fetch(`${gw.url}/api/openapi.json`)).json();
      expect(groups.map((g) => g.tag)).to.deep.equal(merged.tags.map((t: { name: string }) => t.name));
      expect(groups.map((g) => g.tag))
        .to.include.members(['auth', 'events', 'holds', 'gateway'])
        .and.not.include.members(['users', 'catalog', 'inventory']);
      for (const g of groups) expect(g.operations, `operations under ${g.tag}`).to.be.greaterThan(0);
    } finally {
      await page.close();
    }
  });

  it('runs the built app (module script, stylesheet, API call) from a client-side route with no CSP violation', async () => {
    const { page, violations } = await visit(`${gw.url}/events/e1`, '#q-app:has-text("loaded")');
    try {
      await browser.screenshot(page, 'gateway-app');
      expect(violations).to.deep.equal([]);
      expect(await page.locator('#q-app').innerText()).to.equal('loaded catalog');
      expect(await page.locator('#q-app').evaluate((el) => getComputedStyle(el).color)).to.equal('rgb(1, 2, 3)');
    } finally {
      await page.close();
    }
  });

  it('shows the not-built page with no CSP violation', async () => {
    const { page, violations } = await visit(`${bare.url}/`, 'h1');
    try {
      await browser.screenshot(page, 'gateway-not-built');
      expect(violations).to.deep.equal([]);
      expect(await page.locator('body').innerText()).to.match(/not built yet/i);
      // the gateway's stylesheet applied (a sans-serif card, not the browser's default serif page)
      expect(await page.locator('body').evaluate((el) => getComputedStyle(el).fontFamily)).to.match(/system-ui/);
      expect(await page.locator('main').evaluate((el) => getComputedStyle(el).borderRadius)).to.equal('14px');
      expect(
        await page.locator('nav a').evaluateAll((links) => links.map((a) => a.getAttribute('href'))),
      ).to.deep.equal(['/docs', '/api/events']);
    } finally {
      await page.close();
    }
  });
});
