// The built single-page app: static files from FRONTEND_DIR with cache headers (content-hashed assets are
// immutable, everything else revalidates), index.html for client-side routes, and an honest page when
// the app has not been built.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'koa';
import send from 'koa-send';
import { problems } from '@eventtickets/platform';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
/** Vite/Quasar emit names like assets/index-BXk3j2lA.js: a content hash of 8+ characters before the extension. */
const HASHED = /[.-][A-Za-z0-9_]{8,}\.(?:js|mjs|css|woff2?|ttf|otf|eot|svg|png|jpe?g|gif|webp|avif|ico|wasm|json)$/;

export function isHashedAsset(path: string): boolean {
  return HASHED.test(path);
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>EventTickets</title></head>
<body>
<h1>EventTickets</h1>
<p>The web app is not built yet, so there is nothing to show here. Build the frontend (its output goes to <code>frontend/dist</code>, or point <code>FRONTEND_DIR</code> at a build) and reload.</p>
<p>The API is running: browse it in the <a href="/docs">API documentation</a>.</p>
</body>
</html>
`;

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function createFrontend(root: string) {
  return async function serveFrontend(ctx: Context): Promise<void> {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD');
      throw problems.notFound(`No route for ${ctx.method} ${ctx.path}`);
    }
    let relative: string;
    try {
      relative = decodeURIComponent(ctx.path);
    } catch {
      throw problems.badRequest('The path is not valid percent-encoding', 'malformed-path');
    }
    if (relative.split('/').includes('..')) throw problems.notFound(`No such file: ${ctx.path}`);
    if (relative !== '/' && !relative.endsWith('/') && isFile(join(root, relative))) {
      ctx.state.routeTemplate = '/{asset}';
      await send(ctx, ctx.path, {
        root,
        hidden: false,
        setHeaders: (res, path) => res.setHeader('Cache-Control', isHashedAsset(path) ? IMMUTABLE : REVALIDATE),
      });
      return;
    }
    // Client-side routes: a browser navigation (accepts text/html) gets the app shell.
    const wantsHtml = relative === '/' || ctx.get('accept').includes('text/html');
    if (!wantsHtml) throw problems.notFound(`No such file: ${ctx.path}`);
    ctx.state.routeTemplate = '/';
    ctx.set('Cache-Control', REVALIDATE);
    if (!existsSync(join(root, 'index.html'))) {
      ctx.type = 'html';
      ctx.body = NOT_BUILT_PAGE;
      return;
    }
    await send(ctx, 'index.html', { root, setHeaders: (res) => res.setHeader('Cache-Control', REVALIDATE) });
  };
}
