-- pgbench: the hold's essential write on the stack's own Postgres, as inventory makes it (two neighbouring
-- seats of a 10,000-seat event chosen at random, conditional on both being available, all or nothing):
-- the hold row, the conditional seat UPDATE, the hold's seat rows and the hold.created outbox row. A pair
-- already taken rolls back, as inventory's refusal does. Run by raw-limit.ts on a scratch database built
-- with inventory's own migrations (event 'raw', seats s00000..s09999).
\set i random(0, 9998)
\set j :i + 1
BEGIN;
INSERT INTO holds (hold_id, event_id, user_id, status, expires_at)
  VALUES (gen_random_uuid(), 'raw', 'pgbench', 'active', now() + interval '10 minutes') RETURNING hold_id \gset
WITH taken AS (
  UPDATE seats SET status = 'held', hold_id = :hold_id, version = version + 1
   WHERE event_id = 'raw' AND seat_id = ANY (ARRAY['s' || lpad(:i::text, 5, '0'), 's' || lpad(:j::text, 5, '0')])
     AND status = 'available'
  RETURNING seat_id)
SELECT count(*) AS n FROM taken \gset
\if :n = 2
INSERT INTO hold_seats (hold_id, event_id, seat_id)
  SELECT :hold_id, 'raw', unnest(ARRAY['s' || lpad(:i::text, 5, '0'), 's' || lpad(:j::text, 5, '0')]);
INSERT INTO outbox (event_id, type, aggregate_id, payload, headers, occurred_at)
  VALUES (gen_random_uuid(), 'hold.created', :hold_id, '{"eventId":"raw","seats":[]}', '{}', now());
COMMIT;
\else
ROLLBACK;
\endif
