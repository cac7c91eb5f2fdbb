// Browser tests: Debian's Chromium driven by playwright-core, with the flags this kind of machine needs
// (no tool ever downloads its own browser), a throwaway profile per launch, and screenshots kept under
// test-results/screenshots/ so a person can look at what the page really looked like.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { requireBinary } from './harness.ts';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const screenshotDir = join(repoRoot, 'test-results', 'screenshots');

export interface TestBrowser {
  context: BrowserContext;
  newPage: () => Promise<Page>;
  /** Saves a full-page PNG as test-results/screenshots/<name>.png and returns its path. */
  screenshot: (page: Page, name: string) => Promise<string>;
  close: () => Promise<void>;
}

/** Launches Chromium (skipping, or failing in CI, when /usr/bin/chromium is missing). */
export async function launchTestBrowser(
  ctx: Mocha.Context,
  opts: { viewport?: { width: number; height: number } } = {},
): Promise<TestBrowser> {
  const executablePath = requireBinary(ctx, 'chromium', 'apt-get install -y chromium');
  const profile = mkdtempSync(join(tmpdir(), 'et-chromium-'));
  // loaded here, not at import: the test kit's entry point must stay cheap for the suites without a browser
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: opts.viewport ?? { width: 1280, height: 800 },
  });
  return {
    context,
    newPage: () => context.newPage(),
    async screenshot(page, name) {
      mkdirSync(screenshotDir, { recursive: true });
      const file = join(screenshotDir, `${name.replace(/[^a-z0-9._-]+/gi, '-')}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
