// The sale rules a hold is judged by, kept per event in this process for HOLD_RULES_CACHE_MS (issue 14: the
// read was one of a granted hold's two database round trips). Why a cached copy cannot let a wrong hold through:
// - The rules of a materialised event never change (event.published inserts them once, ON CONFLICT DO NOTHING);
//   only the status moves, once, from published to cancelled.
// - A cancelled event still refuses holds whatever the copy says: the cancellation voids every seat and takes
//   the event's advisory lock exclusively, and every hold write takes it shared, so the write that follows a
//   stale "published" finds no available seat and answers 409 event-cancelled (inventory_hold_seats reports
//   the status; writeHold reads it for GA places). "cancelled" is final, so a copy saying so is never stale.
// - Sales windows are judged by the database clock, as before: the copy keeps the offset of the database clock
//   to this process's clock measured by the read that filled it, and a request whose time is within
//   BOUNDARY_MS of the window's start or end reads afresh, so the database clock decides there.
// An unknown event is not kept (the next request looks again: it may have been materialised meanwhile).
import type { Sequelize } from '@eventtickets/platform';
import { loadSaleRules } from '../db/events.ts';
import type { SaleRules } from '../domain/types.ts';

/** Closer than this to a sales window boundary (by the offset clock), the rules are read with the database's
 *  own now(). Far above the offset's error (half a local round trip) and a clock's drift over a TTL. */
export const BOUNDARY_MS = 2_000;

/** Events kept at most (an on-sale touches a handful; the oldest entry goes first). */
const MAX_EVENTS = 1_000;

interface Entry {
  rules: SaleRules;
  /** database clock minus Date.now(), from the read that filled the entry */
  offsetMs: number;
  /** Date.now() after which the entry is read again */
  freshUntil: number;
}

export interface RulesAtNow {
  rules: SaleRules;
  /** The database's time for this request (its now(), or the cached offset applied to this process's clock). */
  dbNow: Date;
}

function nearBoundary(rules: SaleRules, nowMs: number): boolean {
  return [rules.salesStartAt, rules.salesEndAt].some((b) => b !== null && Math.abs(b.getTime() - nowMs) < BOUNDARY_MS);
}

export function createSaleRulesCache(db: Sequelize, ttlMs: number) {
  const entries = new Map<string, Entry>();

  async function read(eventId: string): Promise<RulesAtNow | undefined> {
    const found = await loadSaleRules(db, eventId);
    if (!found) return undefined;
    if (ttlMs > 0) {
      if (entries.size >= MAX_EVENTS && !entries.has(eventId)) entries.delete(entries.keys().next().value!);
      const now = Date.now();
      entries.set(eventId, { rules: found.rules, offsetMs: found.dbNow.getTime() - now, freshUntil: now + ttlMs });
    }
    return found;
  }

  return {
    /** The event's rules and the database's now, or undefined for an unknown event. */
    async get(eventId: string): Promise<RulesAtNow | undefined> {
      const entry = entries.get(eventId);
      const now = Date.now();
      if (!entry || now >= entry.freshUntil) return read(eventId);
      const dbNowMs = now + entry.offsetMs;
      if (entry.rules.status === 'published' && nearBoundary(entry.rules, dbNowMs)) return read(eventId);
      return { rules: entry.rules, dbNow: new Date(dbNowMs) };
    },
  };
}

export type SaleRulesCache = ReturnType<typeof createSaleRulesCache>;
