// /docs: Swagger UI from the swagger-ui-dist package (no CDN) with our own page and initializer.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from 'koa';
import send from 'koa-send';
import { problems } from '@eventtickets/platform/errors';

const require = createRequire(import.meta.url);
// The package's folder, found without loading it: its index.js evaluates the whole Swagger UI bundle (~1.5 MB of
// JavaScript, half a second of the gateway's start and its heap) only to return this path.
const distRoot: string = dirname(require.resolve('swagger-ui-dist/package.json'));
const ownRoot = fileURLToPath(new URL('./static/', import.meta.url));

/** Only what the page loads (index.css is the dist's page reset: no body margin, a light background); the
 *  dist's own index.html and petstore initializer are never served. */
const DIST_FILES = new Set([
  'index.css',
  'swagger-ui.css',
  'swagger-ui-bundle.js',
  'favicon-32x32.png',
  'favicon-16x16.png',
]);

export function isDocsPath(path: string): boolean {
  return path === '/docs' || path.startsWith('/docs/');
}

export async function serveDocs(ctx: Context): Promise<void> {
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw problems.notFound(`No route for ${ctx.method} ${ctx.path}`);
  const file = ctx.path === '/docs' || ctx.path === '/docs/' ? 'index.html' : ctx.path.slice('/docs/'.length);
  ctx.state.routeTemplate = file === 'index.html' ? '/docs' : '/docs/{file}';
  if (file === 'index.html' || file === 'init.js') {
    await send(ctx, file, { root: ownRoot, setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache') });
    return;
  }
  if (!DIST_FILES.has(file)) throw problems.notFound(`No such documentation file: ${file}`);
  // Versioned with the package: cache for a day, revalidate after.
  await send(ctx, file, {
    root: distRoot,
    setHeaders: (res) => res.setHeader('Cache-Control', 'public, max-age=86400'),
  });
}
