// Routes: the buyer's screens here, the organizer's in organizer.ts (behind the organizer guard).
// meta.auth: signed in; meta.organizer: organizer or admin; meta.title: the document title.
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { useAuthStore } from 'src/stores/auth';
import { organizerRoutes } from './organizer';

declare module 'vue-router' {
  interface RouteMeta {
    title?: string;
    auth?: boolean;
    organizer?: boolean;
  }
}

const routes: RouteRecordRaw[] = [
  {
    path: '/',
    component: () => import('src/layouts/MainLayout.vue'),
    children: [
      { path: '', name: 'home', component: () => import('src/pages/HomePage.vue'), meta: { title: 'Find events' } },
      {
        path: 'events/:id',
        name: 'event',
        component: () => import('src/pages/EventPage.vue'),
        props: true,
        meta: { title: 'Event' },
      },
      {
        path: 'checkout/:holdId',
        name: 'checkout',
        component: () => import('src/pages/CheckoutPage.vue'),
        props: true,
        meta: { title: 'Checkout', auth: true },
      },
      {
        path: 'orders/:id/confirmation',
        name: 'confirmation',
        component: () => import('src/pages/ConfirmationPage.vue'),
        props: true,
        meta: { title: 'Thank you', auth: true },
      },
      {
        path: 'tickets',
        name: 'tickets',
        component: () => import('src/pages/TicketsPage.vue'),
        meta: { title: 'My tickets', auth: true },
      },
      {
        path: 'orders',
        name: 'orders',
        component: () => import('src/pages/OrdersPage.vue'),
        meta: { title: 'My orders', auth: true },
      },
      {
        path: 'orders/:id',
        name: 'order',
        component: () => import('src/pages/OrderPage.vue'),
        props: true,
        meta: { title: 'Order', auth: true },
      },
      {
        path: 'profile',
        name: 'profile',
        component: () => import('src/pages/ProfilePage.vue'),
        meta: { title: 'Profile', auth: true },
      },
      {
        path: 'sign-in',
        name: 'sign-in',
        component: () => import('src/pages/SignInPage.vue'),
        meta: { title: 'Sign in' },
      },
      {
        path: 'sign-up',
        name: 'sign-up',
        component: () => import('src/pages/SignUpPage.vue'),
        meta: { title: 'Create an account' },
      },
      { path: 'organizer', children: organizerRoutes, meta: { auth: true, organizer: true } },
      {
        path: ':pathMatch(.*)*',
        name: 'not-found',
        component: () => import('src/pages/NotFoundPage.vue'),
        meta: { title: 'Page not found' },
      },
    ],
  },
];

export const router = createRouter({
  history: createWebHistory(),
  routes,
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
});

router.beforeEach((to) => {
  const auth = useAuthStore();
  const needsAuth = to.matched.some((r) => r.meta.auth);
  const needsOrganizer = to.matched.some((r) => r.meta.organizer);
  if (needsAuth && !auth.signedIn) return { name: 'sign-in', query: { next: to.fullPath } };
  if (needsOrganizer && !auth.isOrganizer) return { name: 'home', query: { denied: 'organizer' } };
  return true;
});

router.afterEach((to) => {
  const title = [...to.matched].reverse().find((r) => r.meta.title)?.meta.title;
  document.title = title ? `${title} · EventTickets` : 'EventTickets';
});
