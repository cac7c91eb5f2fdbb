// My tickets with their QR codes, kept in localStorage per user so they stay readable offline (the service
// worker also caches the API answers; this copy survives an expired session too).
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { api, getText, unwrap } from 'src/api/client';
import { getSession } from 'src/api/session';
import type { Ticket } from 'src/api/types';

export interface EventInfo {
  title: string;
  startsAt: string;
  timeZone: string;
  venue: string;
}

interface Saved {
  tickets: Ticket[];
  qr: Record<string, string>;
  events: Record<string, EventInfo>;
  savedAt: string;
}

const keyFor = (userId: string) => `et.tickets.${userId}`;

function read(userId: string | undefined): Saved | undefined {
  if (!userId) return undefined;
  try {
    return JSON.parse(localStorage.getItem(keyFor(userId)) ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
}

export const useTicketsStore = defineStore('tickets', () => {
  const tickets = ref<Ticket[]>([]);
  const qr = ref<Record<string, string>>({});
  const events = ref<Record<string, EventInfo>>({});
  const offlineSince = ref<string | undefined>();

  function showSaved(): boolean {
    const saved = read(getSession()?.user.id);
    if (!saved) return false;
    tickets.value = saved.tickets;
    qr.value = saved.qr;
    events.value = saved.events;
    return true;
  }

  /** Loads from the API (and saves); offline, shows the saved copy and says since when. */
  async function load(): Promise<void> {
    const userId = getSession()?.user.id;
    try {
      const page = await unwrap(api.GET('/api/tickets'));
      const previous = read(userId);
      const codes: Record<string, string> = {};
      const infos: Record<string, EventInfo> = { ...(previous?.events ?? {}) };
      await Promise.all(
        page.items.map(async (t) => {
          codes[t.id] =
            previous?.qr[t.id] ?? (await getText(`/api/tickets/${encodeURIComponent(t.id)}/qr.svg`, 'image/svg+xml'));
        }),
      );
      await Promise.all(
        [...new Set(page.items.map((t) => t.eventId))]
          .filter((id) => !infos[id])
          .map(async (id) => {
            const e = await unwrap(api.GET('/api/events/{id}', { params: { path: { id } } })).catch(() => undefined);
            if (e)
              infos[id] = {
                title: e.title,
                startsAt: e.startsAt,
                timeZone: e.timeZone,
                venue: `${e.venue.name}, ${e.venue.city}`,
              };
          }),
      );
      tickets.value = page.items;
      qr.value = codes;
      events.value = infos;
      offlineSince.value = undefined;
      if (userId) {
        const saved: Saved = { tickets: page.items, qr: codes, events: infos, savedAt: new Date().toISOString() };
        localStorage.setItem(keyFor(userId), JSON.stringify(saved));
      }
    } catch (e) {
      const saved = read(userId);
      if (!saved) throw e;
      showSaved();
      offlineSince.value = saved.savedAt;
    }
  }

  return { tickets, qr, events, offlineSince, load, showSaved };
});
