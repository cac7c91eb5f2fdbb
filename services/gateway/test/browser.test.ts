import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { requireBinary } from '@eventtickets/platform/testing/harness';
import { startGateway, startUpstream, type RunningGateway, type Upstream } from './helpers.ts';

// The CSP is only proven by a browser enforcing it: Swagger UI and an app bundle must run with no violation.
describe('gateway/browser: Swagger UI and the app under the CSP (Chromium)', function () {
  let browser: Browser;
  let gw: RunningGateway;
  let catalog: Upstream;
  let dir: string;

  before(async function () {
    const executablePath = requireBinary(this, 'chromium', 'apt-get install -y chromium');
    dir = mkdtempSync(join(tmpdir(), 'gw-browser-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><link rel="stylesheet" href="/assets/index-Ab12Cd34.css"><script type="module" src="/assets/index-Ab12Cd34.js"></script></head><body><div id="q-app"></div></body></html>');
    writeFileSync(join(dir, 'assets', 'index-Ab12Cd34.css'), '#q-app { color: rgb(1, 2, 3); }');
    writeFileSync(join(dir, 'assets', 'index-Ab12Cd34.js'), "const r = await fetch('/api/events/e1'); document.querySelector('#q-app').textContent = 'loaded ' + (await r.json()).service; document.querySelector('#q-app').style.fontWeight = 'bold';");
    catalog = await startUpstream('catalog', (ctx) => {
      if (ctx.path !== '/openapi.json') return false;
      ctx.body = { openapi: '3.0.3', info: { title: 'EventTickets catalog', version: '0.1.0' }, paths: { '/api/events/{id}': { get: { summary: 'One event', responses: { 200: { description: 'ok' } } } } } };
      return true;
    });
    gw = await startGateway({ CATALOG_URL: catalog.url, FRONTEND_DIR: dir });
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await catalog?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function visit(path: string, ready: string): Promise<{ violations: string[]; text: string }> {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (msg) => { if (/Content Security Policy|Refused to/i.test(msg.text())) violations.push(msg.text()); });
    page.on('pageerror', (err) => violations.push(`page error: ${err.message}`));
    await page.goto(gw.url + path);
    await page.waitForSelector(ready, { timeout: 20_000 });
    const text = await page.locator(ready).first().innerText();
    await page.close();
    return { violations, text };
  }

  it('renders Swagger UI over the merged contract with no CSP violation', async () => {
    const { violations } = await visit('/docs', '.opblock-summary-path');
    expect(violations).to.deep.equal([]);
    const page = await browser.newPage();
    await page.goto(`${gw.url}/docs`);
    await page.waitForSelector('.opblock-summary-path');
    const paths = await page.locator('.opblock-summary-path').allInnerTexts();
    await page.close();
    expect(paths.map((p) => p.replace(/\u200b/g, ''))).to.include('/api/events/{id}');
  });

  it('runs the built app (module script, stylesheet, API call) from a client-side route with no CSP violation', async () => {
    const { violations, text } = await visit('/events/e1', '#q-app:has-text("loaded")');
    expect(violations).to.deep.equal([]);
    expect(text).to.equal('loaded catalog');
  });
});
