// Public availability: the snapshot and the live SSE stream.
import Router from '@koa/router';
import { parseLastEventId } from '../domain/sse.ts';
import type { AvailabilityHub } from '../use-cases/availability-stream.ts';

export function availabilityRouter(hub: AvailabilityHub): Router {
  const router = new Router();

  router.get('/api/events/:id/availability', async (ctx) => {
    const snapshot = await hub.snapshot(ctx.params.id!);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/json';
    ctx.body = snapshot.json; // the document as Postgres wrote it (db/availability.ts)
  });

  router.get('/api/events/:id/availability/stream', async (ctx) => {
    const { stream, close } = await hub.open(ctx.params.id!, parseLastEventId(ctx.get('last-event-id') || undefined));
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    // The response closes when the client goes away (or the stream ends): drop the subscription then.
    ctx.res.once('close', close);
    if (ctx.res.destroyed) close();
    ctx.status = 200;
    ctx.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
      Connection: 'close',
    });
    ctx.body = stream;
  });

  return router;
}
