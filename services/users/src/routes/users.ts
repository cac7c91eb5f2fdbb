// /api/users: admin-only listing and role changes.
import Router from '@koa/router';
import { requireRole, type Role } from '@eventtickets/platform';
import { listUserPage, setRole } from '../use-cases/admin.ts';
import type { UsersDeps } from '../deps.ts';

export function usersRouter(deps: UsersDeps): Router {
  const router = new Router();
  router.get('/api/users', async (ctx) => {
    requireRole(ctx, 'admin');
    const q = ctx.query as Record<string, string | undefined>;
    ctx.body = await listUserPage(deps, {
      limit: q.limit ? Number(q.limit) : 20,
      cursor: q.cursor,
      role: q.role as Role | undefined,
      organizerRequested: q.organizerRequested === undefined ? undefined : q.organizerRequested === 'true',
    });
  });
  router.patch('/api/users/:id/role', async (ctx) => {
    const admin = requireRole(ctx, 'admin');
    const { role } = ctx.request.body as { role: Role };
    ctx.body = await setRole(deps, admin.userId, ctx.params.id!, role);
  });
  return router;
}
