// The organizer's screens (venues, events, sales, check-in). Every route here is behind the organizer guard
// (meta.organizer: organizer or admin), added under /organizer by router/index.ts.
import type { RouteRecordRaw } from 'vue-router';

export const organizerRoutes: RouteRecordRaw[] = [
  {
    path: '',
    name: 'organizer',
    component: () => import('src/pages/organizer/OrganizerHomePage.vue'),
    meta: { title: 'Organizer' },
  },
];
