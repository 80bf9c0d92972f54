-- The dashboard's totals, kept from the ledger's entries as they are written. Installed by
-- migration 0024 and frozen with it (docs/ledger.md).
--
-- A total updated in place by every till would be one row that all the awards of a store's
-- day wait on until they commit, and a spend drawing lots of two stores would lock two such
-- rows in an order another spend may reverse (a deadlock). So the entries trigger only
-- appends: each INSERT of entries adds its sums to loyalty_pendingtotal. stamps_fold_totals()
-- moves what is pending into the totals and each member's last active day, one folder at a
-- time; readers add what is still pending, so a figure is exact whether or not a fold has
-- run. The member's own row is left alone: updating it again, and all of its indexes, on each
-- member's first visit of a day would cost every till's write.

-- What each entry counts towards: its merchant, the merchant's day it was written on, the
-- lot's store and expiration date, the spend's purpose. The one definition the trigger, the
-- migration's first fold and check_ledger's audit share. An expiry (kind 5) is not the
-- member's doing: it does not make them active.
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

-- Appends the statement's entries as sums, by member where they are the member's doing.
CREATE OR REPLACE FUNCTION stamps_entries_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO loyalty_pendingtotal (merchant_id, store_id, day, kind, purpose,
                                      expiration_date, membership_id, stamps)
    SELECT f.merchant_id, f.store_id, f.day, f.kind, f.purpose, f.expiration_date,
           CASE WHEN f.by_member THEN f.membership_id END, sum(f.delta)
      FROM added JOIN stamps_entry_facts f ON f.id = added.id
     GROUP BY 1, 2, 3, 4, 5, 6, 7;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS entries_added ON loyalty_ledgerentry;
CREATE TRIGGER entries_added AFTER INSERT ON loyalty_ledgerentry
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION stamps_entries_added();

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

-- Moves every committed pending sum into the totals; returns how many sums it moved, or NULL
-- when another fold is running (that one moves them). The totals are written by the folder
-- alone, so no till ever waits on them.
CREATE OR REPLACE FUNCTION stamps_fold_totals() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_moved bigint;
BEGIN
    -- The two-key form: its keys never meet the Idempotency-Keys' single bigint ones.
    IF NOT pg_try_advisory_xact_lock(hashtext('loyalty'), hashtext('stamps_fold_totals')) THEN
        RETURN NULL;
    END IF;
    WITH moved AS (
        DELETE FROM loyalty_pendingtotal RETURNING *
    ), daily AS (
        INSERT INTO loyalty_dailytotal (merchant_id, day, store_id, kind, purpose, stamps)
        SELECT merchant_id, day, store_id, kind, purpose, sum(stamps) FROM moved
         GROUP BY merchant_id, day, store_id, kind, purpose
        ON CONFLICT (merchant_id, day, store_id, kind, purpose)
        DO UPDATE SET stamps = loyalty_dailytotal.stamps + excluded.stamps
    ), due AS (
        INSERT INTO loyalty_duetotal (merchant_id, expiration_date, store_id, stamps)
        SELECT merchant_id, expiration_date, store_id, sum(stamps) FROM moved
         GROUP BY merchant_id, expiration_date, store_id
        ON CONFLICT (merchant_id, expiration_date, store_id)
        DO UPDATE SET stamps = loyalty_duetotal.stamps + excluded.stamps
    ), active AS (
        INSERT INTO loyalty_memberactivity (membership_id, merchant_id, last_active_on)
        SELECT membership_id, merchant_id, max(day) FROM moved
         WHERE membership_id IS NOT NULL
         GROUP BY membership_id, merchant_id
        ON CONFLICT (membership_id) DO UPDATE
        SET last_active_on = greatest(loyalty_memberactivity.last_active_on,
                                      excluded.last_active_on)
    )
    SELECT count(*) INTO v_moved FROM moved;
    RETURN v_moved;
END $$;
