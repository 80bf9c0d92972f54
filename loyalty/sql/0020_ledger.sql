-- The stamps ledger: every write that moves stamps, and the rules they share, in one place.
-- Installed by migration 0020 and frozen with it: a later change is a new file for a new
-- migration (docs/ledger.md). Python checks the shape of a request, calls one of the
-- functions below and maps its answer; nothing in Python writes the ledger.
--
-- Each write function returns a row whose first column, `refusal`, is NULL when the write
-- applied, or a code from loyalty/refusals.py when it was refused. A refusal is decided
-- before anything is written, so a refused call leaves the caller's transaction usable.
-- The order in which each function checks its refusals is the order of its IF statements
-- (docs/ledger.md lists them).
--
-- Row locks are taken in one order: the Idempotency-Key's advisory lock (idempotency), a
-- purchase, the member, then a reward's stock.
--
-- Functions are PL/pgSQL where they write: PL/pgSQL keeps each statement's plan for the
-- session. The small rules (stamps_lot_overdue, stamps_level_reached,
-- stamps_member_refusal) are SQL-language functions, which PostgreSQL inlines into the
-- statements that use them, so sharing them costs nothing per call.

DROP FUNCTION IF EXISTS stamps_award(bigint, bigint, text, integer, text, date, boolean, date,
                                     timestamptz);
DROP FUNCTION IF EXISTS stamps_cancel(bigint, text, bigint, date, timestamptz);
DROP FUNCTION IF EXISTS stamps_spend(bigint, text, integer, text, integer, date, timestamptz,
                                     bigint, bigint, bigint, boolean, text);
-- (the first version, left beside its successor on databases upgraded release by release)
DROP FUNCTION IF EXISTS stamps_spend(bigint, text, integer, text, integer, date, timestamptz,
                                     bigint, bigint, bigint, boolean);
DROP FUNCTION IF EXISTS stamps_redeem(bigint, text, bigint, bigint, text, date, timestamptz);
DROP FUNCTION IF EXISTS stamps_level_change_record(bigint, bigint, bigint, bigint, timestamptz);
DROP FUNCTION IF EXISTS stamps_level_for(bigint, bigint);
DROP FUNCTION IF EXISTS stamps_member_view(loyalty_membership);
DROP FUNCTION IF EXISTS stamps_due_total(bigint, date);

-- A lot's stamps can be spent through its expiration date, in the merchant's time zone
-- (`p_today` is the merchant's date), and expire once that day is over.
CREATE OR REPLACE FUNCTION stamps_lot_overdue(p_expiration date, p_today date)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_expiration < p_today
$$;

-- The level a member's qualifying stamps reach: the highest threshold at or below them,
-- else the merchant's lowest level.
CREATE OR REPLACE FUNCTION stamps_level_reached(p_merchant bigint, p_qualifying bigint)
RETURNS TABLE (id bigint, number integer, name text, minimum_qualifying_stamps bigint)
LANGUAGE sql STABLE AS $$
    SELECT l.id, l.number, l.name::text, l.minimum_qualifying_stamps::bigint
      FROM loyalty_level l
     WHERE l.merchant_id = p_merchant
     ORDER BY l.minimum_qualifying_stamps <= p_qualifying DESC,
              abs(p_qualifying - l.minimum_qualifying_stamps)
     LIMIT 1
$$;

-- What stops a member spending: being blocked, a reward's level not reached, too few
-- spendable stamps, a reward out of stock; NULL when nothing does. A deduction passes no
-- level threshold and no stock. Shared by the spends and by the rewards' `redeemable`
-- (redemptions.selectors), so a reward listed as redeemable is one a till can redeem.
CREATE OR REPLACE FUNCTION stamps_member_refusal(
    p_blocked boolean, p_level_minimum bigint, p_level_needed bigint, p_spendable bigint,
    p_stamps bigint, p_stock bigint
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_blocked THEN 'membership_blocked'
        WHEN p_level_minimum < p_level_needed THEN 'level_not_reached'
        WHEN p_spendable < p_stamps THEN 'insufficient_stamps'
        WHEN p_stock <= 0 THEN 'out_of_stock'
    END
$$;

-- What stops a reward being redeemed at a moment, whoever redeems it: its window
-- [starts_at, ends_at). The rewards a till lists are those this allows (redemptions.selectors).
CREATE OR REPLACE FUNCTION stamps_reward_window_refusal(
    p_starts timestamptz, p_ends timestamptz, p_now timestamptz
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_starts IS NOT NULL AND p_now < p_starts THEN 'not_yet_available'
        WHEN p_ends IS NOT NULL AND p_now >= p_ends THEN 'no_longer_available'
    END
$$;

-- What stops a reward being redeemed at a store: the stores it is offered at (none listed
-- means every store).
CREATE OR REPLACE FUNCTION stamps_reward_store_refusal(p_reward bigint, p_store bigint)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM redemptions_reward_stores WHERE reward_id = p_reward)
             AND NOT EXISTS (SELECT 1 FROM redemptions_reward_stores
                              WHERE reward_id = p_reward AND store_id = p_store)
            THEN 'store_not_eligible'
    END
$$;

-- The member a till names by `user`: an email (case-insensitive) when it has an @, else a
-- Member ID, else the numeric id. A Member ID wins over an id with the same digits. The
-- write functions take `p_membership` instead when the caller knows the member (the admin,
-- a purchase): a digit string could be someone else's Member ID.
CREATE OR REPLACE FUNCTION stamps_find_member(p_merchant bigint, p_user text)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE v_id bigint;
BEGIN
    IF position('@' IN p_user) > 0 THEN
        SELECT id INTO v_id FROM loyalty_membership
         WHERE merchant_id = p_merchant AND email = lower(p_user);
        RETURN v_id;
    END IF;
    SELECT id INTO v_id FROM loyalty_membership
     WHERE merchant_id = p_merchant AND member_id = p_user;
    IF v_id IS NULL AND p_user ~ '^[0-9]{1,18}$' THEN
        SELECT id INTO v_id FROM loyalty_membership
         WHERE merchant_id = p_merchant AND id = p_user::bigint;
    END IF;
    RETURN v_id;
END $$;

-- A member's stamps less what sits in lots past their date that nothing has written off
-- yet: what every read shows and every spend may take.
CREATE OR REPLACE FUNCTION stamps_spendable(p_membership bigint, p_today date)
RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT m.stamps - coalesce((
        SELECT sum(a.stamps_remaining) FROM loyalty_award a
         WHERE a.membership_id = m.id AND a.status = 1 AND a.stamps_remaining > 0
           AND stamps_lot_overdue(a.expiration_date, p_today)), 0)::bigint
      FROM loyalty_membership m WHERE m.id = p_membership
$$;

-- Writes off what is left of the member's lots past their date; the caller holds the
-- member's row lock and adds the returned (negative) change to the cached balance.
CREATE OR REPLACE FUNCTION stamps_expire_due(p_membership bigint, p_today date, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_expired bigint;
BEGIN
    WITH due AS (
        SELECT id, stamps_remaining FROM loyalty_award
         WHERE membership_id = p_membership AND status = 1 AND stamps_remaining > 0
           AND stamps_lot_overdue(expiration_date, p_today)
    ), closed AS (
        UPDATE loyalty_award a SET stamps_remaining = 0, status = 3
          FROM due WHERE a.id = due.id
    ), entries AS (
        INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind, delta,
                                         created_at)
        SELECT p_membership, id, NULL, 5, -stamps_remaining, p_now FROM due
    )
    SELECT -coalesce(sum(stamps_remaining), 0)::bigint INTO v_expired FROM due;
    RETURN v_expired;
END $$;

-- The expiry sweep's step (manage.py expire_stamps): one member, under their row lock.
CREATE OR REPLACE FUNCTION stamps_expire_member(p_membership bigint, p_today date,
                                                p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_expired bigint;
BEGIN
    PERFORM 1 FROM loyalty_membership WHERE id = p_membership FOR UPDATE;
    v_expired := stamps_expire_due(p_membership, p_today, p_now);
    IF v_expired <> 0 THEN
        UPDATE loyalty_membership SET stamps = stamps + v_expired WHERE id = p_membership;
    END IF;
    RETURN -v_expired;
END $$;

-- Records a member's move between levels (loyalty.models.LevelChange), upgrade (1) or
-- downgrade (2) by the thresholds as they are now; called only when the level differs.
CREATE OR REPLACE FUNCTION stamps_level_change_record(
    p_membership bigint, p_from bigint, p_to bigint, p_award bigint, p_now timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO loyalty_levelchange (membership_id, from_level_id, to_level_id, kind, award_id,
                                     created_at)
    SELECT p_membership, p_from, p_to,
           CASE WHEN reached.minimum_qualifying_stamps > previous.minimum_qualifying_stamps
                THEN 1 ELSE 2 END,
           p_award, p_now
      FROM loyalty_level previous, loyalty_level reached
     WHERE previous.id = p_from AND reached.id = p_to;
END $$;

-- An award: a new lot of `p_stamps` expiring on `p_expiration` (the caller fills in the
-- merchant's default), its entry, the member's balance and level, and the email to send.
-- `p_token` or `p_staff` says who made it (an API key, or an admin user).
CREATE OR REPLACE FUNCTION stamps_award(
    p_merchant bigint, p_store bigint, p_membership bigint, p_user text, p_stamps integer,
    p_max_stamps integer,
    p_notes text, p_expiration date, p_notify boolean, p_today date, p_now timestamptz,
    p_token bigint, p_staff integer,
    OUT refusal text, OUT refusal_detail text, OUT m_id bigint, OUT m_stamps bigint,
    OUT m_qualifying bigint, OUT m_level_number integer, OUT m_level_name text,
    OUT award_id bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_email text;
    v_blocked boolean;
    v_previous_level bigint;
    v_level bigint;
BEGIN
    IF p_stamps > p_max_stamps THEN
        refusal := 'award_too_large'; refusal_detail := p_max_stamps; RETURN;
    END IF;
    IF p_expiration < p_today THEN refusal := 'expiration_in_past'; RETURN; END IF;
    PERFORM 1 FROM loyalty_store WHERE id = p_store AND merchant_id = p_merchant AND is_active;
    IF NOT FOUND THEN refusal := 'invalid_store'; RETURN; END IF;
    SELECT id, email, stamps, qualifying_stamps, level_id, is_blocked
      INTO m_id, v_email, m_stamps, m_qualifying, v_previous_level, v_blocked
      FROM loyalty_membership
     WHERE id = coalesce(p_membership, stamps_find_member(p_merchant, p_user))
       AND merchant_id = p_merchant FOR UPDATE;
    IF NOT FOUND THEN refusal := 'user_not_found'; RETURN; END IF;
    IF v_blocked THEN refusal := 'membership_blocked'; RETURN; END IF;

    IF EXISTS (SELECT 1 FROM loyalty_award  -- rare: a lot past its date, not yet written off
                WHERE membership_id = m_id AND status = 1 AND stamps_remaining > 0
                  AND stamps_lot_overdue(expiration_date, p_today)) THEN
        m_stamps := m_stamps + stamps_expire_due(m_id, p_today, p_now);
    END IF;
    m_stamps := m_stamps + p_stamps;
    m_qualifying := m_qualifying + p_stamps;
    INSERT INTO loyalty_award (membership_id, store_id, number_of_stamps, stamps_remaining,
                               expiration_date, status, notes, require_email_notification,
                               created_at, created_by_token_id, created_by_staff_id,
                               cancel_reason)
    VALUES (m_id, p_store, p_stamps, p_stamps, p_expiration, 1, p_notes, p_notify, p_now,
            p_token, p_staff, '')
    RETURNING loyalty_award.id INTO award_id;
    INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind, delta, created_at)
    VALUES (m_id, award_id, NULL, 1, p_stamps, p_now);
    SELECT l.id, l.number, l.name INTO v_level, m_level_number, m_level_name
      FROM stamps_level_reached(p_merchant, m_qualifying) l;
    IF v_level <> v_previous_level THEN  -- rare: only an award that crosses a threshold
        PERFORM stamps_level_change_record(m_id, v_previous_level, v_level, award_id, p_now);
    END IF;
    UPDATE loyalty_membership
       SET stamps = m_stamps, qualifying_stamps = m_qualifying, level_id = v_level
     WHERE id = m_id;
    IF p_notify AND v_email IS NOT NULL THEN
        INSERT INTO loyalty_emailoutbox (membership_id, award_id, recipient, stamps_after,
                                         status, attempts, last_error, created_at,
                                         next_attempt_at)
        VALUES (m_id, award_id, v_email, m_stamps, 1, 0, '', p_now, p_now);
    END IF;
END $$;

-- Takes `p_stamps` from the member's soonest-expiring spendable lots (by date, then oldest
-- first) for a spend, `p_kind` 3 (spend) or 4 (moved from a cancelled lot), skipping
-- `p_except`. The caller has checked that they hold enough and locked the member.
CREATE OR REPLACE FUNCTION stamps_lots_draw(
    p_membership bigint, p_deduction bigint, p_stamps integer, p_kind integer,
    p_except bigint, p_today date, p_now timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_need integer := p_stamps;
    v_take integer;
    lot record;
BEGIN
    FOR lot IN
        SELECT id, stamps_remaining FROM loyalty_award
         WHERE membership_id = p_membership AND status = 1 AND stamps_remaining > 0
           AND NOT stamps_lot_overdue(expiration_date, p_today)
           AND id IS DISTINCT FROM p_except
         ORDER BY expiration_date, id
    LOOP
        v_take := least(lot.stamps_remaining, v_need);
        UPDATE loyalty_award SET stamps_remaining = stamps_remaining - v_take WHERE id = lot.id;
        INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind, delta,
                                         created_at)
        VALUES (p_membership, lot.id, p_deduction, p_kind, -v_take, p_now);
        v_need := v_need - v_take;
        EXIT WHEN v_need = 0;
    END LOOP;
    IF v_need > 0 THEN  -- the caller's check makes this impossible; never half a spend
        RAISE EXCEPTION 'stamps_lots_draw: % stamps short', v_need;
    END IF;
END $$;

-- A spend: a deduction (POST /api/memberships/deduct-stamps, purpose 1), or a redemption
-- (purpose 2, from stamps_redeem) when `p_reward` is given, whose level threshold and stock
-- are checked here under the member's lock.
CREATE OR REPLACE FUNCTION stamps_spend(
    p_merchant bigint, p_membership bigint, p_user text, p_stamps integer, p_notes text,
    p_purpose integer, p_today date, p_now timestamptz, p_reward bigint, p_store bigint, p_level_needed bigint,
    p_stock integer, p_invoice text, p_token bigint, p_staff integer,
    OUT refusal text, OUT refusal_detail text, OUT m_id bigint, OUT m_stamps bigint, OUT m_qualifying bigint,
    OUT m_level_number integer, OUT m_level_name text, OUT m_referral_code text,
    OUT m_created_at timestamptz, OUT deduction_id bigint, OUT redemption_id bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_blocked boolean;
    v_level bigint;
    v_level_minimum bigint;
    v_due bigint;
BEGIN
    SELECT id, stamps, qualifying_stamps, level_id, referral_code, created_at, is_blocked
      INTO m_id, m_stamps, m_qualifying, v_level, m_referral_code, m_created_at, v_blocked
      FROM loyalty_membership
     WHERE id = coalesce(p_membership, stamps_find_member(p_merchant, p_user))
       AND merchant_id = p_merchant FOR UPDATE;
    IF NOT FOUND THEN refusal := 'user_not_found'; RETURN; END IF;
    SELECT minimum_qualifying_stamps, number, name
      INTO v_level_minimum, m_level_number, m_level_name
      FROM loyalty_level WHERE id = v_level;
    SELECT coalesce(sum(stamps_remaining), 0)::bigint INTO v_due FROM loyalty_award
     WHERE membership_id = m_id AND status = 1 AND stamps_remaining > 0
       AND stamps_lot_overdue(expiration_date, p_today);  -- written off below
    refusal := stamps_member_refusal(v_blocked, v_level_minimum, p_level_needed,
                                     m_stamps - v_due, p_stamps, p_stock);
    IF refusal IS NOT NULL THEN RETURN; END IF;
    IF p_stock IS NOT NULL THEN
        UPDATE redemptions_reward SET stock = stock - 1 WHERE id = p_reward AND stock > 0;
        IF NOT FOUND THEN refusal := 'out_of_stock'; RETURN; END IF;  -- taken meanwhile
    END IF;

    IF v_due > 0 THEN
        m_stamps := m_stamps + stamps_expire_due(m_id, p_today, p_now);
    END IF;
    m_stamps := m_stamps - p_stamps;
    INSERT INTO loyalty_stampsdeduction (membership_id, stamps, notes, purpose, status,
                                         created_at, created_by_token_id,
                                         created_by_staff_id, cancel_reason)
    VALUES (m_id, p_stamps, p_notes, p_purpose, 1, p_now, p_token, p_staff, '')
    RETURNING id INTO deduction_id;
    PERFORM stamps_lots_draw(m_id, deduction_id, p_stamps, 3, NULL, p_today, p_now);
    UPDATE loyalty_membership SET stamps = m_stamps WHERE id = m_id;
    IF p_reward IS NOT NULL THEN
        INSERT INTO redemptions_redemption (membership_id, reward_id, store_id, deduction_id,
                                            stamps_used, status, invoice_number, created_at)
        VALUES (m_id, p_reward, p_store, deduction_id, p_stamps, 1, p_invoice, p_now)
        RETURNING id INTO redemption_id;
    END IF;
END $$;

-- A redemption: the store, the reward and what the reward itself allows are checked, then
-- the spend draws its price. A refusal comes with what its message needs (a level's name).
CREATE OR REPLACE FUNCTION stamps_redeem(
    p_merchant bigint, p_membership bigint, p_user text, p_store bigint, p_reward bigint,
    p_invoice text, p_today date, p_now timestamptz, p_token bigint, p_staff integer,
    OUT refusal text, OUT refusal_detail text, OUT m_id bigint, OUT m_stamps bigint,
    OUT m_qualifying bigint, OUT m_level_number integer, OUT m_level_name text,
    OUT deduction_id bigint, OUT redemption_id bigint, OUT reward_name text,
    OUT stamps_used integer, OUT notes text
) LANGUAGE plpgsql AS $$
DECLARE
    r redemptions_reward%ROWTYPE;
    v_level_needed bigint := 0;
    spent record;
BEGIN
    PERFORM 1 FROM loyalty_store WHERE id = p_store AND merchant_id = p_merchant AND is_active;
    IF NOT FOUND THEN refusal := 'invalid_store'; RETURN; END IF;
    SELECT * INTO r FROM redemptions_reward
     WHERE id = p_reward AND merchant_id = p_merchant AND is_active;
    IF NOT FOUND THEN refusal := 'invalid_reward'; RETURN; END IF;
    refusal := coalesce(stamps_reward_window_refusal(r.starts_at, r.ends_at, p_now),
                        stamps_reward_store_refusal(r.id, p_store));
    IF refusal IS NOT NULL THEN RETURN; END IF;
    IF r.minimum_level_id IS NOT NULL THEN
        SELECT minimum_qualifying_stamps, name INTO v_level_needed, refusal_detail
          FROM loyalty_level WHERE id = r.minimum_level_id;
    END IF;

    reward_name := r.name;
    stamps_used := r.stamps_to_redeem;
    notes := left('Redemption: ' || r.name, 255);
    SELECT * INTO spent FROM stamps_spend(
        p_merchant, p_membership, p_user, r.stamps_to_redeem, notes, 2, p_today, p_now, r.id, p_store,
        v_level_needed, r.stock, p_invoice, p_token, p_staff);
    refusal := spent.refusal;
    IF refusal IS NOT NULL THEN RETURN; END IF;
    refusal_detail := NULL;
    m_id := spent.m_id; m_stamps := spent.m_stamps; m_qualifying := spent.m_qualifying;
    m_level_number := spent.m_level_number; m_level_name := spent.m_level_name;
    deduction_id := spent.deduction_id; redemption_id := spent.redemption_id;
END $$;

-- Cancels an award: the member loses its stamps. Stamps already spent from the lot are
-- drawn again from the member's other lots for the same spends (kind 4 entries), so the
-- spends stay paid and the lot gives back all it gave; refused when they hold too few.
CREATE OR REPLACE FUNCTION stamps_cancel(
    p_merchant bigint, p_membership bigint, p_user text, p_award bigint, p_today date,
    p_now timestamptz, p_token bigint, p_staff integer, p_reason text,
    OUT refusal text, OUT refusal_detail text, OUT m_id bigint, OUT m_stamps bigint, OUT m_qualifying bigint,
    OUT m_level_number integer, OUT m_level_name text, OUT number_of_stamps integer,
    OUT store_id bigint, OUT expiration_date date
) LANGUAGE plpgsql AS $$
DECLARE
    a loyalty_award%ROWTYPE;
    v_previous_level bigint;
    v_level bigint;
    v_spent integer;
    v_elsewhere bigint;
    spend record;
BEGIN
    SELECT id, stamps, qualifying_stamps, level_id
      INTO m_id, m_stamps, m_qualifying, v_previous_level
      FROM loyalty_membership
     WHERE id = coalesce(p_membership, stamps_find_member(p_merchant, p_user))
       AND merchant_id = p_merchant FOR UPDATE;
    IF NOT FOUND THEN refusal := 'user_not_found'; RETURN; END IF;
    SELECT * INTO a FROM loyalty_award WHERE id = p_award AND membership_id = m_id;
    IF NOT FOUND THEN refusal := 'award_not_found'; RETURN; END IF;
    IF a.status = 2 THEN refusal := 'award_canceled'; RETURN; END IF;
    IF a.status = 3 OR stamps_lot_overdue(a.expiration_date, p_today) THEN
        refusal := 'award_expired'; RETURN;
    END IF;
    v_spent := a.number_of_stamps - a.stamps_remaining;
    IF v_spent > 0 THEN  -- rare: the lot paid for spends, which other lots must pay for now
        SELECT coalesce(sum(stamps_remaining), 0) INTO v_elsewhere FROM loyalty_award
         WHERE membership_id = m_id AND status = 1 AND stamps_remaining > 0 AND id <> a.id
           AND NOT stamps_lot_overdue(loyalty_award.expiration_date, p_today);
        IF v_elsewhere < v_spent THEN refusal := 'award_stamps_spent'; RETURN; END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM loyalty_award  -- rare: a lot past its date, not yet written off
                WHERE membership_id = m_id AND status = 1 AND stamps_remaining > 0
                  AND stamps_lot_overdue(loyalty_award.expiration_date, p_today)) THEN
        m_stamps := m_stamps + stamps_expire_due(m_id, p_today, p_now);
    END IF;
    IF v_spent > 0 THEN
        FOR spend IN
            SELECT e.deduction_id, -sum(e.delta)::integer AS moved FROM loyalty_ledgerentry e
             WHERE e.award_id = a.id AND e.deduction_id IS NOT NULL
             GROUP BY e.deduction_id HAVING sum(e.delta) < 0 ORDER BY e.deduction_id
        LOOP
            PERFORM stamps_lots_draw(m_id, spend.deduction_id, spend.moved, 4, a.id, p_today,
                                     p_now);
            INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind,
                                             delta, created_at)
            VALUES (m_id, a.id, spend.deduction_id, 4, spend.moved, p_now);
        END LOOP;
    END IF;
    m_stamps := m_stamps - a.number_of_stamps;
    m_qualifying := m_qualifying - a.number_of_stamps;
    UPDATE loyalty_award
       SET stamps_remaining = 0, status = 2, canceled_at = p_now, canceled_by_token_id = p_token,
           canceled_by_staff_id = p_staff, cancel_reason = p_reason
     WHERE id = a.id;
    INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind, delta, created_at)
    VALUES (m_id, a.id, NULL, 2, -a.number_of_stamps, p_now);
    SELECT l.id, l.number, l.name INTO v_level, m_level_number, m_level_name
      FROM stamps_level_reached(p_merchant, m_qualifying) l;
    IF v_level <> v_previous_level THEN  -- rare: only a cancel that drops below a threshold
        PERFORM stamps_level_change_record(m_id, v_previous_level, v_level, a.id, p_now);
    END IF;
    UPDATE loyalty_membership
       SET stamps = m_stamps, qualifying_stamps = m_qualifying, level_id = v_level
     WHERE id = m_id;
    number_of_stamps := a.number_of_stamps;
    store_id := a.store_id;
    expiration_date := a.expiration_date;
END $$;

-- Cancels a redemption: its stamps go back to the lots they were drawn from, except lots
-- that have expired or been cancelled since (those stamps would be gone by now anyway),
-- and the reward goes back to a limited stock.
CREATE OR REPLACE FUNCTION stamps_redemption_cancel(
    p_merchant bigint, p_redemption bigint, p_today date, p_now timestamptz,
    p_token bigint, p_staff integer, p_reason text,
    OUT refusal text, OUT refusal_detail text, OUT m_id bigint, OUT m_stamps bigint, OUT m_qualifying bigint,
    OUT m_level_number integer, OUT m_level_name text, OUT stamps_refunded bigint
) LANGUAGE plpgsql AS $$
DECLARE
    rd redemptions_redemption%ROWTYPE;
BEGIN
    SELECT r.membership_id INTO m_id FROM redemptions_redemption r
      JOIN loyalty_membership m ON m.id = r.membership_id
     WHERE r.id = p_redemption AND m.merchant_id = p_merchant;
    IF NOT FOUND THEN refusal := 'redemption_not_found'; RETURN; END IF;
    SELECT m.stamps, m.qualifying_stamps, l.number, l.name
      INTO m_stamps, m_qualifying, m_level_number, m_level_name
      FROM loyalty_membership m JOIN loyalty_level l ON l.id = m.level_id
     WHERE m.id = m_id FOR UPDATE OF m;
    SELECT * INTO rd FROM redemptions_redemption WHERE id = p_redemption;
    IF rd.status = 2 THEN refusal := 'redemption_canceled'; RETURN; END IF;

    IF EXISTS (SELECT 1 FROM loyalty_award  -- rare: a lot past its date, not yet written off
                WHERE membership_id = m_id AND status = 1 AND stamps_remaining > 0
                  AND stamps_lot_overdue(expiration_date, p_today)) THEN
        m_stamps := m_stamps + stamps_expire_due(m_id, p_today, p_now);
    END IF;
    WITH drawn AS (
        SELECT e.award_id, -sum(e.delta)::integer AS stamps FROM loyalty_ledgerentry e
         WHERE e.deduction_id = rd.deduction_id
         GROUP BY e.award_id HAVING sum(e.delta) < 0
    ), refunded AS (
        UPDATE loyalty_award a SET stamps_remaining = a.stamps_remaining + drawn.stamps
          FROM drawn
         WHERE a.id = drawn.award_id AND a.status = 1
           AND NOT stamps_lot_overdue(a.expiration_date, p_today)
        RETURNING a.id, drawn.stamps
    ), entries AS (
        INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind, delta,
                                         created_at)
        SELECT m_id, id, rd.deduction_id, 6, stamps, p_now FROM refunded
    )
    SELECT coalesce(sum(stamps), 0)::bigint INTO stamps_refunded FROM refunded;
    m_stamps := m_stamps + stamps_refunded;
    UPDATE loyalty_membership SET stamps = m_stamps WHERE id = m_id;
    UPDATE loyalty_stampsdeduction
       SET status = 2, canceled_at = p_now, canceled_by_token_id = p_token,
           canceled_by_staff_id = p_staff, cancel_reason = p_reason
     WHERE id = rd.deduction_id;
    UPDATE redemptions_redemption SET status = 2, canceled_at = p_now WHERE id = rd.id;
    UPDATE redemptions_reward SET stock = stock + 1 WHERE id = rd.reward_id AND stock IS NOT NULL;
END $$;

-- A purchase from a till: it earns `p_stamps` when given, else its total value at the
-- merchant's rate (rounded down), as an award to the member named by `p_user`; an open
-- purchase (no user) earns nothing. An invoice number is used once per store and day: the
-- unique key refuses a second one, a retried till's twin included, after the award's own
-- checks, and its award is undone with it.
CREATE OR REPLACE FUNCTION stamps_purchase(
    p_merchant bigint, p_store bigint, p_user text, p_invoice text, p_invoice_date date,
    p_total numeric, p_subtotal numeric, p_discount numeric, p_service_charge numeric,
    p_tax numeric, p_people integer, p_items jsonb, p_stamps integer, p_rate numeric,
    p_max_stamps integer, p_expiration date, p_created timestamptz, p_today date,
    p_now timestamptz, p_token bigint,
    OUT refusal text, OUT refusal_detail text, OUT m_id bigint, OUT m_stamps bigint,
    OUT m_qualifying bigint, OUT m_level_number integer, OUT m_level_name text,
    OUT transaction_id bigint, OUT stamps_earned integer, OUT award_id bigint
) LANGUAGE plpgsql AS $$
DECLARE
    awarded record;
    v_constraint text;
BEGIN
    PERFORM 1 FROM loyalty_store WHERE id = p_store AND merchant_id = p_merchant AND is_active;
    IF NOT FOUND THEN refusal := 'invalid_store'; RETURN; END IF;
    IF p_user IS NOT NULL THEN
        m_id := stamps_find_member(p_merchant, p_user);
        IF m_id IS NULL THEN refusal := 'user_not_found'; RETURN; END IF;
    END IF;

    stamps_earned := CASE WHEN m_id IS NULL THEN 0
                          ELSE coalesce(p_stamps, floor(p_total / p_rate)::integer) END;
    BEGIN
        IF stamps_earned > 0 THEN
            SELECT * INTO awarded FROM stamps_award(
                p_merchant, p_store, m_id, NULL, stamps_earned, p_max_stamps,
                left('Purchase ' || p_invoice, 255), p_expiration, false, p_today, p_now,
                p_token, NULL);
            refusal := awarded.refusal;
            refusal_detail := awarded.refusal_detail;
            IF refusal IS NOT NULL THEN RETURN; END IF;
            award_id := awarded.award_id;
            m_stamps := awarded.m_stamps; m_qualifying := awarded.m_qualifying;
            m_level_number := awarded.m_level_number; m_level_name := awarded.m_level_name;
        END IF;
        INSERT INTO transactions_transaction (
            merchant_id, store_id, membership_id, award_id, invoice_number, invoice_date,
            total_value, subtotal, discount, service_charge, tax, number_of_people, items,
            stamps_earned, status, created_at, recorded_at)
        VALUES (p_merchant, p_store, m_id, award_id, p_invoice, p_invoice_date, p_total,
                p_subtotal, p_discount, p_service_charge, p_tax, p_people, p_items,
                stamps_earned, 1, p_created, p_now)
        RETURNING id INTO transaction_id;
    EXCEPTION WHEN unique_violation THEN  -- the block's writes (the award) are undone
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint <> 'transaction_invoice_unique_per_store_day' THEN RAISE; END IF;
        refusal := 'duplicate_invoice';
        award_id := NULL;
    END;
END $$;

-- Cancels a purchase: optionally first the active redemptions of its member made with the
-- same invoice number, then the award it earned. All or nothing: a refusal met on the way
-- undoes what came before it.
CREATE OR REPLACE FUNCTION stamps_purchase_cancel(
    p_merchant bigint, p_transaction bigint, p_cancel_redemptions boolean, p_today date,
    p_now timestamptz, p_token bigint, p_staff integer, p_reason text,
    OUT refusal text, OUT refusal_detail text, OUT m_id bigint, OUT award_id bigint,
    OUT stamps_earned integer, OUT total_value numeric
) LANGUAGE plpgsql AS $$
DECLARE
    t transactions_transaction%ROWTYPE;
    v_refusal text;
    v_redemption bigint;
BEGIN
    SELECT * INTO t FROM transactions_transaction
     WHERE id = p_transaction AND merchant_id = p_merchant FOR UPDATE;
    IF NOT FOUND THEN refusal := 'transaction_not_found'; RETURN; END IF;
    IF t.status = 2 THEN refusal := 'transaction_canceled'; RETURN; END IF;
    m_id := t.membership_id;
    award_id := t.award_id;
    stamps_earned := t.stamps_earned;
    total_value := t.total_value;
    BEGIN
        IF p_cancel_redemptions AND t.membership_id IS NOT NULL THEN
            FOR v_redemption IN
                SELECT id FROM redemptions_redemption
                 WHERE membership_id = t.membership_id AND invoice_number = t.invoice_number
                   AND status = 1 ORDER BY id
            LOOP
                SELECT c.refusal INTO v_refusal FROM stamps_redemption_cancel(
                    p_merchant, v_redemption, p_today, p_now, p_token, p_staff, p_reason) c;
                IF v_refusal IS NOT NULL THEN RAISE EXCEPTION USING ERRCODE = 'SR001', MESSAGE = v_refusal;
                END IF;
            END LOOP;
        END IF;
        IF t.award_id IS NOT NULL THEN
            SELECT c.refusal INTO v_refusal FROM stamps_cancel(
                p_merchant, t.membership_id, NULL, t.award_id, p_today, p_now, p_token,
                p_staff, p_reason) c;
            IF v_refusal = 'award_stamps_spent' THEN
                RAISE EXCEPTION USING ERRCODE = 'SR001', MESSAGE = 'transaction_stamps_spent';
            ELSIF v_refusal IS NOT NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'SR001', MESSAGE = v_refusal;
            END IF;
        END IF;
    EXCEPTION WHEN SQLSTATE 'SR001' THEN  -- a refusal: the block's writes are undone
        refusal := SQLERRM;
        RETURN;
    END;
    UPDATE transactions_transaction SET status = 2, canceled_at = p_now WHERE id = t.id;
END $$;

-- Row rules (first installed by 0014_row_rules.sql, which says why they are functions): a
-- lot's and a spend's changes are each made through an API key or by a staff user, never
-- both. The new checks are added NOT VALID and then validated, which lets writes go on.
CREATE OR REPLACE FUNCTION stamps_award_rules(
    number_of_stamps integer, stamps_remaining integer, status smallint,
    created_by_token bigint, created_by_staff integer, canceled_by_token bigint,
    canceled_by_staff integer
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN number_of_stamps > 0 AND stamps_remaining BETWEEN 0 AND number_of_stamps
       AND status >= 0
       AND (status = 1 OR stamps_remaining = 0)  -- closed lots are empty
       AND (created_by_token IS NULL OR created_by_staff IS NULL)
       AND (canceled_by_token IS NULL OR canceled_by_staff IS NULL);
END $$;

CREATE OR REPLACE FUNCTION stamps_deduction_rules(
    stamps integer, purpose smallint, status smallint, created_by_token bigint,
    created_by_staff integer, canceled_by_token bigint, canceled_by_staff integer
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN stamps > 0 AND purpose >= 0 AND status >= 0
       AND (created_by_token IS NULL OR created_by_staff IS NULL)
       AND (canceled_by_token IS NULL OR canceled_by_staff IS NULL);
END $$;

ALTER TABLE loyalty_award DROP CONSTRAINT award_rules,
    ADD CONSTRAINT award_rules CHECK (stamps_award_rules(
        number_of_stamps, stamps_remaining, status, created_by_token_id, created_by_staff_id,
        canceled_by_token_id, canceled_by_staff_id)) NOT VALID;
ALTER TABLE loyalty_award VALIDATE CONSTRAINT award_rules;
ALTER TABLE loyalty_stampsdeduction DROP CONSTRAINT deduction_rules,
    ADD CONSTRAINT deduction_rules CHECK (stamps_deduction_rules(
        stamps, purpose, status, created_by_token_id, created_by_staff_id, canceled_by_token_id,
        canceled_by_staff_id)) NOT VALID;
ALTER TABLE loyalty_stampsdeduction VALIDATE CONSTRAINT deduction_rules;
DROP FUNCTION stamps_award_rules(integer, integer, smallint);
DROP FUNCTION stamps_deduction_rules(integer, smallint, smallint);
