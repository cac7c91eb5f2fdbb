// The built single-page app: static files from FRONTEND_DIR with cache headers (content-hashed assets are
// immutable, everything else revalidates), index.html for client-side routes, and an honest page when
// the app has not been built.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from 'koa';
import send from 'koa-send';
import { problems } from '@eventtickets/platform/errors';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
/** Vite/Quasar emit names like assets/index-BXk3j2lA.js: a content hash of 8+ characters before the extension. */
const HASHED = /[.-][A-Za-z0-9_]{8,}\.(?:js|mjs|css|woff2?|ttf|otf|eot|svg|png|jpe?g|gif|webp|avif|ico|wasm|json)$/;

export function isHashedAsset(path: string): boolean {
  return HASHED.test(path);
}

/** The not-built page's stylesheet, served by the gateway itself (under the CSP, styles come from 'self'). */
export const NOT_BUILT_CSS = '/not-built.css';
const ownStatic = fileURLToPath(new URL('./static/', import.meta.url));

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>EventTickets</title>
<link rel="stylesheet" href="${NOT_BUILT_CSS}">
</head>
<body>
<main>
<h1>Event<span>Tickets</span></h1>
<p>The API is running, but the web app is not built yet: build the frontend (into <code>frontend/dist</code>, or set <code>FRONTEND_DIR</code>) and reload.</p>
<nav><a href="/docs">API documentation</a><a href="/api/events">Events (JSON)</a></nav>
</main>
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
    if (relative === NOT_BUILT_CSS && !existsSync(join(root, 'index.html'))) {
      ctx.state.routeTemplate = NOT_BUILT_CSS;
      await send(ctx, 'not-built.css', {
        root: ownStatic,
        setHeaders: (res) => res.setHeader('Cache-Control', REVALIDATE),
      });
      return;
    }
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
