-- The dashboard's totals, folded from the ledger's entries after they are written. Installed
-- by migration 0024 and frozen with it (docs/ledger.md).
--
-- A till's write does nothing for them: totals kept in its transaction cost every award a
-- tenth of its speed (a trigger appending each write's sums), or made every award of a
-- store's day wait on one row (a total updated in place). Instead a fold sums the entries
-- past a mark, by id, into the totals and moves the mark; a reader adds the entries past
-- the mark to the totals, in one statement, so a figure is exact whatever the fold has done.
--
-- The mark may only pass entries that are final: an id is taken when its INSERT runs, and
-- the transaction may commit after a later id's. stamps_entries_final() waits, briefly, for
-- a moment when no transaction is writing entries (a SHARE lock on the table), and reads
-- the last id handed out: every entry up to it is then committed or rolled back for good.

-- What each entry counts towards: its merchant, the merchant's day it was written on, the
-- lot's store and expiration date, the spend's purpose, and whether it is the member's
-- doing (an expiry, kind 5, is not). The fold, the readers and check_ledger's audit share it.
CREATE OR REPLACE VIEW stamps_entry_facts AS
SELECT e.id, e.membership_id, m.merchant_id, a.store_id, a.expiration_date, e.kind,
       d.purpose, e.delta,
       (e.created_at AT TIME ZONE mer.time_zone)::date AS day,
       e.kind <> 5 AS by_member
  FROM loyalty_ledgerentry e
  JOIN loyalty_award a ON a.id = e.award_id
  JOIN loyalty_membership m ON m.id = e.membership_id
  JOIN loyalty_merchant mer ON mer.id = m.merchant_id
  LEFT JOIN loyalty_stampsdeduction d ON d.id = e.deduction_id;

-- The entries past the mark: what a reader adds to the totals. STABLE: it reads with its
-- caller's snapshot, so a statement sees the totals and the mark of one moment. Planned with
-- the mark's value, so the planner knows how few entries lie past it (a view's `id >
-- (SELECT ...)` is planned blind: a third of the ledger, scanned whole). No mark row:
-- nothing folded, as after a test truncates every table.
CREATE OR REPLACE FUNCTION stamps_entry_facts_unfolded() RETURNS SETOF stamps_entry_facts
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY EXECUTE 'SELECT * FROM stamps_entry_facts WHERE id > $1'
        USING coalesce((SELECT folded_through FROM loyalty_totalsmark WHERE id = 1), 0);
END $$;

CREATE OR REPLACE FUNCTION stamps_totals_mark_ensure() RETURNS void
LANGUAGE sql AS $$
    INSERT INTO loyalty_totalsmark (id, folded_through, final_through) VALUES (1, 0, 0)
    ON CONFLICT (id) DO NOTHING;
$$;

-- Reads the last entry id handed out once no transaction is writing entries, and records it
-- as final; NULL when that did not come within 200 ms, or a fold holds the mark (the fold
-- then goes as far as the last call marked).
-- The SHARE lock holds new writers back only while it waits: the caller commits at once.
CREATE OR REPLACE FUNCTION stamps_entries_final() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_last bigint;
BEGIN
    PERFORM stamps_totals_mark_ensure();
    PERFORM 1 FROM loyalty_totalsmark WHERE id = 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN NULL;  -- a fold is running
    END IF;
    SET LOCAL lock_timeout = '200ms';
    BEGIN
        LOCK TABLE loyalty_ledgerentry IN SHARE MODE;
    EXCEPTION WHEN lock_not_available THEN
        RETURN NULL;
    END;
    SELECT coalesce(max(id), 0) INTO v_last FROM loyalty_ledgerentry;
    UPDATE loyalty_totalsmark SET final_through = greatest(final_through, v_last) WHERE id = 1;
    RETURN v_last;
END $$;

-- Folds at most p_limit final entries past the mark into the totals and moves the mark;
-- returns how many it folded, or NULL when another fold holds the mark (it folds them).
CREATE OR REPLACE FUNCTION stamps_fold_totals(p_limit bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_from bigint;
    v_through bigint;
    v_folded bigint;
BEGIN
    PERFORM stamps_totals_mark_ensure();
    SELECT folded_through, final_through INTO v_from, v_through
      FROM loyalty_totalsmark WHERE id = 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- the p_limit-th final entry past the mark, if there are that many
    v_through := coalesce((SELECT id FROM loyalty_ledgerentry
                            WHERE id > v_from AND id <= v_through
                            ORDER BY id OFFSET p_limit - 1 LIMIT 1), v_through);
    WITH folded AS (
        SELECT * FROM stamps_entry_facts WHERE id > v_from AND id <= v_through
    ), daily AS (
        INSERT INTO loyalty_dailytotal (merchant_id, day, store_id, kind, purpose, stamps)
        SELECT merchant_id, day, store_id, kind, purpose, sum(delta) FROM folded
         GROUP BY merchant_id, day, store_id, kind, purpose
        ON CONFLICT (merchant_id, day, store_id, kind, purpose)
        DO UPDATE SET stamps = loyalty_dailytotal.stamps + excluded.stamps
    ), due AS (
        INSERT INTO loyalty_duetotal (merchant_id, expiration_date, store_id, stamps)
        SELECT merchant_id, expiration_date, store_id, sum(delta) FROM folded
         GROUP BY merchant_id, expiration_date, store_id
        ON CONFLICT (merchant_id, expiration_date, store_id)
        DO UPDATE SET stamps = loyalty_duetotal.stamps + excluded.stamps
    ), active AS (
        INSERT INTO loyalty_memberactivity (membership_id, merchant_id, last_active_on)
        SELECT membership_id, merchant_id, max(day) FROM folded WHERE by_member
         GROUP BY membership_id, merchant_id
        ON CONFLICT (membership_id) DO UPDATE
        SET last_active_on = greatest(loyalty_memberactivity.last_active_on,
                                      excluded.last_active_on)
    )
    SELECT count(*) INTO v_folded FROM folded;
    UPDATE loyalty_totalsmark SET folded_through = v_through WHERE id = 1;
    RETURN v_folded;
END $$;

-- A lot's store and expiration date are what its due total is kept by: neither ever changes.
CREATE OR REPLACE FUNCTION stamps_lot_key_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.store_id <> OLD.store_id OR NEW.expiration_date <> OLD.expiration_date THEN
        RAISE EXCEPTION 'a lot''s store and expiration date never change (award %)', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS lot_key_fixed ON loyalty_award;
CREATE TRIGGER lot_key_fixed BEFORE UPDATE OF store_id, expiration_date ON loyalty_award
    FOR EACH ROW EXECUTE FUNCTION stamps_lot_key_fixed();
