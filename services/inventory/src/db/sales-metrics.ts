// SQL behind inventory's scrape-time gauges (metrics.ts).
import { rows, type Sequelize } from '@eventtickets/platform';

/** How many events the sell-through gauge reports at most: its event_id label stays bounded. */
export const SELL_THROUGH_EVENTS = 20;

/** Sold and sellable places (seats that are not void, plus GA capacity) of the events on sale now (published,
 *  sales window open), the most recently active first, at most SELL_THROUGH_EVENTS of them. */
export async function sellThroughOfEventsOnSale(
  db: Sequelize,
): Promise<Array<{ eventId: string; sold: number; capacity: number }>> {
  const found = await rows<{ event_id: string; sold: string; capacity: string }>(
    db,
    `SELECT e.event_id,
            (SELECT count(*) FROM seats s WHERE s.event_id = e.event_id AND s.status = 'sold')
              + (SELECT COALESCE(sum(g.sold), 0) FROM ga_areas g WHERE g.event_id = e.event_id) AS sold,
            (SELECT count(*) FROM seats s WHERE s.event_id = e.event_id AND s.status <> 'void')
              + (SELECT COALESCE(sum(g.capacity), 0) FROM ga_areas g WHERE g.event_id = e.event_id) AS capacity
       FROM events e
      WHERE e.status = 'published'
        AND (e.sales_start_at IS NULL OR e.sales_start_at <= now())
        AND (e.sales_end_at IS NULL OR e.sales_end_at > now())
      ORDER BY e.seq DESC, e.event_id
      LIMIT $1`,
    [SELL_THROUGH_EVENTS],
  );
  return found.map((r) => ({ eventId: r.event_id, sold: Number(r.sold), capacity: Number(r.capacity) }));
}
