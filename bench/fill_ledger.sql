-- Bulk-fills the ledger for the scale run: :rows awards (lots) of 1-5 stamps spread round-robin
-- over merchant :merchant's members, each with its AWARD ledger entry, and the members'
-- stamps, qualifying stamps and level brought up to date (a move recorded as a level
-- change), so `check_ledger` still passes.
-- Lots were made over the past year and stay valid for a year, so none is due for expiry.
-- psql -v merchant=ID -v store=ID -v rows=N -v offset=K -f bench/fill_ledger.sql "$DATABASE_URL"
-- (offset shifts the round-robin, so successive chunks carry on where the last one stopped)
\set ON_ERROR_STOP on
BEGIN;
-- Skips the per-row foreign-key triggers (every key below is joined from an existing row),
-- which nearly halves the time; needs superuser, and is simply left on otherwise.
DO $$
BEGIN
    SET LOCAL session_replication_role = replica;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'not superuser: foreign keys are checked row by row (slower)';
END $$;

CREATE TEMP TABLE fill_members ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id
FROM loyalty_membership
WHERE merchant_id = :merchant;
CREATE UNIQUE INDEX ON fill_members (n);
SELECT count(*) AS fill_member_count FROM fill_members \gset

CREATE TEMP TABLE fill_awards ON COMMIT DROP AS
WITH made AS (
    INSERT INTO loyalty_award (
        membership_id, store_id, number_of_stamps, stamps_remaining, expiration_date,
        status, notes, require_email_notification, created_at, canceled_at, cancel_reason
    )
    SELECT m.id, :store, 1 + g.i % 5, 1 + g.i % 5, (now() - (g.i % 365) * interval '1 day')::date + 365,
           1, 'bench fill', false, now() - (g.i % 365) * interval '1 day', NULL, ''
    FROM generate_series(:offset::bigint, :offset::bigint + :rows - 1) AS g(i)
    JOIN fill_members m ON m.n = g.i % :fill_member_count
    RETURNING id, membership_id, number_of_stamps, created_at
)
SELECT * FROM made;

INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind, delta, created_at)
SELECT membership_id, id, NULL, 1, number_of_stamps, created_at
FROM fill_awards;

-- Each member's new level; a move is recorded as a level change, as the ledger does.
CREATE TEMP TABLE fill_levels ON COMMIT DROP AS
SELECT m.id AS membership_id, m.level_id AS old_level, a.total,
       COALESCE((
           SELECT l.id FROM loyalty_level l
           WHERE l.merchant_id = m.merchant_id
             AND l.minimum_qualifying_stamps <= m.qualifying_stamps + a.total
           ORDER BY l.minimum_qualifying_stamps DESC
           LIMIT 1
       ), m.level_id) AS new_level
FROM loyalty_membership m
JOIN (
    SELECT membership_id, sum(number_of_stamps) AS total FROM fill_awards GROUP BY membership_id
) a ON a.membership_id = m.id;

UPDATE loyalty_membership m
SET stamps = m.stamps + f.total,
    qualifying_stamps = m.qualifying_stamps + f.total,
    level_id = f.new_level
FROM fill_levels f
WHERE m.id = f.membership_id;

INSERT INTO loyalty_levelchange (membership_id, from_level_id, to_level_id, kind, award_id,
                                 created_at)
SELECT membership_id, old_level, new_level, 1, NULL, now()
FROM fill_levels
WHERE new_level <> old_level;

COMMIT;
