// Shared by the browser tests: the built app, the real `npm start` stack (as e2e/stack-flow.test.ts starts it),
// a small API client for setting up data, and screenshots at phone and desktop size.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { gatewayApi, screenshotDir } from '@eventtickets/platform/testing';
import { StackProcess, freePortRange, repoRoot, tempDataDir } from '../../scripts/test/stack-process.ts';

export const DEMO_PASSWORD = 'browser-demo-password-123';
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1440, height: 900 };

/** frontend/dist, built when missing (npm test's preflight builds it when stale; a direct mocha run may not). */
export function ensureBuilt(): void {
  if (existsSync(join(repoRoot, 'frontend', 'dist', 'index.html'))) return;
  const r = spawnSync('npm', ['run', 'build', '--silent', '-w', 'frontend'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the app did not build:\n${r.stdout}\n${r.stderr}`);
}

export interface Stack {
  gw: string;
  stop: () => Promise<void>;
}

export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const dataDir = tempDataDir();
  const base = await freePortRange();
  const stack = new StackProcess(
    {
      PORT: '0',
      SERVICE_PORT_BASE: String(base),
      DEMO_PASSWORD,
      // a loaded CI machine can take minutes to start seven services
      STACK_READY_TIMEOUT_MS: '240000',
      ...env,
    },
    dataDir,
  );
  const gw = await stack.ready();
  return {
    gw,
    async stop() {
      const code = await stack.stop('SIGINT');
      rmSync(dataDir, { recursive: true, force: true });
      if (code !== 0) throw new Error(`the stack exited with ${code}:\n${stack.output.slice(-4000)}`);
    },
  };
}

/** The JSON client of the test kit against the stack's gateway. */
export const apiClient = gatewayApi;

/** Screenshots of the page as it is, at phone and at desktop size, into test-results/screenshots/. */
export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  const before = page.viewportSize();
  for (const [size, viewport] of [
    ['phone', PHONE],
    ['desktop', DESKTOP],
  ] as const) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(150); // layout settles (Quasar switches the nav by screen width)
    await page.screenshot({ path: join(screenshotDir, `${name}-${size}.png`), fullPage: true });
  }
  if (before) await page.setViewportSize(before);
}
