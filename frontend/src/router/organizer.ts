// The organizer's screens (venues, events, sales, check-in). Every route here is behind the organizer guard
// (meta.organizer: organizer or admin), added under /organizer by router/index.ts.
import type { RouteRecordRaw } from 'vue-router';

export const organizerRoutes: RouteRecordRaw[] = [
  {
    path: '',
    name: 'organizer',
    component: () => import('src/pages/organizer/OrganizerHomePage.vue'),
    meta: { title: 'My events' },
  },
  {
    path: 'venues',
    name: 'organizer-venues',
    component: () => import('src/pages/organizer/VenuesPage.vue'),
    meta: { title: 'My venues' },
  },
  {
    path: 'venues/new',
    name: 'organizer-venue-new',
    component: () => import('src/pages/organizer/VenueEditPage.vue'),
    meta: { title: 'New venue' },
  },
  {
    path: 'venues/:id',
    name: 'organizer-venue',
    component: () => import('src/pages/organizer/VenueEditPage.vue'),
    props: true,
    meta: { title: 'Venue' },
  },
  {
    path: 'events/new',
    name: 'organizer-event-new',
    component: () => import('src/pages/organizer/EventEditPage.vue'),
    meta: { title: 'New event' },
  },
  {
    path: 'events/:id',
    name: 'organizer-event',
    component: () => import('src/pages/organizer/EventEditPage.vue'),
    props: true,
    meta: { title: 'Edit event' },
  },
  {
    path: 'events/:id/sales',
    name: 'organizer-sales',
    component: () => import('src/pages/organizer/SalesPage.vue'),
    props: true,
    meta: { title: 'Sales' },
  },
  {
    path: 'events/:id/check-in',
    name: 'organizer-check-in',
    component: () => import('src/pages/organizer/CheckInPage.vue'),
    props: true,
    meta: { title: 'Check-in' },
  },
];
