// The organizer's data: own venues and events (catalog), sales and check-in (orders), all through the gateway.
// Lists are kept between pages and refreshed after every change; pages ask for details directly.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { api, unwrap } from 'src/api/client';
import type { components } from 'src/api/schema';
import type { EventDetail, EventSummary, Sales, Venue, VenueSummary } from 'src/api/types';

type S = components['schemas'];
export type VenueCreate = S['catalog.VenueCreate'];
export type VenuePatch = S['catalog.VenuePatch'];
export type EventCreate = S['catalog.EventCreate'];
export type EventPatch = S['catalog.EventPatch'];
export type TierInput = S['catalog.TierInput'];
export type CheckIn = S['orders.CheckIn'];

export const useOrganizerStore = defineStore('organizer', () => {
  const venues = ref<VenueSummary[] | undefined>();
  const events = ref<EventSummary[] | undefined>();

  async function loadVenues(): Promise<VenueSummary[]> {
    venues.value = (await unwrap(api.GET('/api/venues'))).items;
    return venues.value;
  }

  /** Own events in every status, soonest first (all pages). */
  async function loadEvents(): Promise<EventSummary[]> {
    const all: EventSummary[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const res = await unwrap(api.GET('/api/events', { params: { query: { mine: true, limit: 100, cursor } } }));
      all.push(...res.items);
      if (!res.nextCursor) break;
      cursor = res.nextCursor;
    }
    events.value = all;
    return all;
  }

  const getVenue = (id: string): Promise<Venue> => unwrap(api.GET('/api/venues/{id}', { params: { path: { id } } }));

  async function createVenue(body: VenueCreate): Promise<Venue> {
    const venue = await unwrap(api.POST('/api/venues', { body }));
    void loadVenues().catch(() => undefined);
    return venue;
  }

  async function updateVenue(id: string, body: VenuePatch): Promise<Venue> {
    const venue = await unwrap(api.PATCH('/api/venues/{id}', { params: { path: { id } }, body }));
    void loadVenues().catch(() => undefined);
    return venue;
  }

  const getEvent = (id: string): Promise<EventDetail> =>
    unwrap(api.GET('/api/events/{id}', { params: { path: { id } } }));

  async function changed(event: EventDetail): Promise<EventDetail> {
    void loadEvents().catch(() => undefined);
    return event;
  }

  const createEvent = async (body: EventCreate) => changed(await unwrap(api.POST('/api/events', { body })));
  const updateEvent = async (id: string, body: EventPatch) =>
    changed(await unwrap(api.PATCH('/api/events/{id}', { params: { path: { id } }, body })));
  const publishEvent = async (id: string) =>
    changed(await unwrap(api.POST('/api/events/{id}/publish', { params: { path: { id } } })));
  const cancelEvent = async (id: string) =>
    changed(await unwrap(api.POST('/api/events/{id}/cancel', { params: { path: { id } } })));

  const getSales = (id: string): Promise<Sales> =>
    unwrap(api.GET('/api/events/{id}/sales', { params: { path: { id } } }));

  /** One scan at the door; the caller reads the ApiError's slug for already used / invalid. */
  const checkIn = (code: string, eventId: string): Promise<CheckIn> =>
    unwrap(api.POST('/api/checkins', { body: { code, eventId } }));

  return {
    venues,
    events,
    loadVenues,
    loadEvents,
    getVenue,
    createVenue,
    updateVenue,
    getEvent,
    createEvent,
    updateEvent,
    publishEvent,
    cancelEvent,
    getSales,
    checkIn,
  };
});
