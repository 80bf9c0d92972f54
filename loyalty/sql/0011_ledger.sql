-- The PostgreSQL side of the hot path: an award, a deduction or a redemption in one round
-- trip. Same rules as loyalty/ledger.py (which serves SQLite and the rarer writes); the
-- whole test suite, the model-based test and `check_ledger` run against both.
-- Refusals are returned as a code before anything is written, so a refused call in an
-- outer transaction leaves that transaction usable.

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

-- The functions are PL/pgSQL, not SQL, even where one statement would do: PL/pgSQL keeps
-- each statement's plan for the session, while a SQL function with a data-modifying WITH is
-- planned again on every call (that alone halved the award's throughput).

-- Writes off what is left of the member's lots past their date; the caller holds the
-- membership row lock and adds the returned (negative) change to the cached balance.
CREATE OR REPLACE FUNCTION stamps_expire_due(p_membership bigint, p_today date, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_expired bigint;
BEGIN
    IF stamps_due_total(p_membership, p_today) = 0 THEN
        RETURN 0;  -- the usual case: nothing past its date
    END IF;
    WITH due AS (
        SELECT id, stamps_remaining FROM loyalty_award
         WHERE membership_id = p_membership AND status = 1 AND stamps_remaining > 0
           AND expiration_date < p_today
    ), closed AS (
        UPDATE loyalty_award a SET stamps_remaining = 0, status = 3
          FROM due WHERE a.id = due.id
    ), entries AS (
        INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind, delta, created_at)
        SELECT p_membership, id, NULL, 5, -stamps_remaining, p_now FROM due
    )
    SELECT -coalesce(sum(stamps_remaining), 0)::bigint INTO v_expired FROM due;
    RETURN v_expired;
END $$;

CREATE OR REPLACE FUNCTION stamps_due_total(p_membership bigint, p_today date)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE v_due bigint;
BEGIN
    SELECT coalesce(sum(stamps_remaining), 0)::bigint INTO v_due FROM loyalty_award
     WHERE membership_id = p_membership AND status = 1 AND stamps_remaining > 0
       AND expiration_date < p_today;
    RETURN v_due;
END $$;

CREATE OR REPLACE FUNCTION stamps_award(
    p_merchant bigint, p_store bigint, p_user text, p_stamps integer, p_notes text,
    p_expiration date, p_notify boolean, p_today date, p_now timestamptz,
    OUT refusal text, OUT m_id bigint, OUT m_email text, OUT m_member_id text, OUT m_name text,
    OUT m_stamps bigint, OUT m_qualifying bigint, OUT m_level_id bigint, OUT m_level_number integer,
    OUT m_level_name text, OUT m_referral_code text, OUT m_created_at timestamptz,
    OUT award_id bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_blocked boolean;
    v_previous_level bigint;
BEGIN
    PERFORM 1 FROM loyalty_store WHERE id = p_store AND merchant_id = p_merchant AND is_active;
    IF NOT FOUND THEN refusal := 'invalid_store'; RETURN; END IF;
    SELECT id, email, member_id, name, stamps, qualifying_stamps, level_id, referral_code,
           created_at, is_blocked
      INTO m_id, m_email, m_member_id, m_name, m_stamps, m_qualifying, v_previous_level,
           m_referral_code, m_created_at, v_blocked
      FROM loyalty_membership WHERE id = stamps_find_member(p_merchant, p_user) FOR UPDATE;
    IF NOT FOUND THEN refusal := 'user_not_found'; RETURN; END IF;
    IF v_blocked THEN refusal := 'membership_blocked'; RETURN; END IF;

    IF EXISTS (SELECT 1 FROM loyalty_award  -- rare: a lot past its date, not yet written off
                WHERE membership_id = m_id AND status = 1 AND stamps_remaining > 0
                  AND expiration_date < p_today) THEN
        m_stamps := m_stamps + stamps_expire_due(m_id, p_today, p_now);
    END IF;
    m_stamps := m_stamps + p_stamps;
    m_qualifying := m_qualifying + p_stamps;
    INSERT INTO loyalty_award (membership_id, store_id, number_of_stamps, stamps_remaining,
                               expiration_date, status, notes, require_email_notification,
                               created_at)
    VALUES (m_id, p_store, p_stamps, p_stamps, p_expiration, 1, p_notes, p_notify, p_now)
    RETURNING loyalty_award.id INTO award_id;
    INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind, delta, created_at)
    VALUES (m_id, award_id, NULL, 1, p_stamps, p_now);
    -- The level the qualifying stamps reach (stamps_cancel has the same rule)
    SELECT l.id, l.number, l.name INTO m_level_id, m_level_number, m_level_name
      FROM loyalty_level l WHERE l.merchant_id = p_merchant
     ORDER BY l.minimum_qualifying_stamps <= m_qualifying DESC,
              abs(m_qualifying - l.minimum_qualifying_stamps)
     LIMIT 1;
    IF m_level_id <> v_previous_level THEN  -- rare: only an award that crosses a threshold
        PERFORM stamps_level_change_record(m_id, v_previous_level, m_level_id, award_id, p_now);
    END IF;
    UPDATE loyalty_membership
       SET stamps = m_stamps, qualifying_stamps = m_qualifying, level_id = m_level_id
     WHERE id = m_id;
    IF p_notify AND m_email IS NOT NULL THEN
        INSERT INTO loyalty_emailoutbox (membership_id, award_id, recipient, stamps_after,
                                         status, attempts, last_error, created_at,
                                         next_attempt_at)
        VALUES (m_id, award_id, m_email, m_stamps, 1, 0, '', p_now, p_now);
    END IF;
END $$;

-- Spends from the soonest-expiring lots; a redemption passes its reward, whose minimum
-- level (as a qualifying-stamps threshold) and limited stock are checked under the lock.
CREATE OR REPLACE FUNCTION stamps_spend(
    p_merchant bigint, p_user text, p_stamps integer, p_notes text, p_purpose integer,
    p_today date, p_now timestamptz, p_reward bigint, p_store bigint,
    p_level_threshold bigint, p_limited_stock boolean, p_invoice text,
    OUT refusal text, OUT m_id bigint, OUT m_email text, OUT m_member_id text, OUT m_name text,
    OUT m_stamps bigint, OUT m_qualifying bigint, OUT m_level_id bigint, OUT m_level_number integer,
    OUT m_level_name text, OUT m_referral_code text, OUT m_created_at timestamptz,
    OUT deduction_id bigint, OUT redemption_id bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_blocked boolean;
    v_threshold bigint;
    v_due bigint;
    v_need integer := p_stamps;
    v_take integer;
    lot record;
BEGIN
    SELECT id, email, member_id, name, stamps, qualifying_stamps, level_id, referral_code,
           created_at, is_blocked
      INTO m_id, m_email, m_member_id, m_name, m_stamps, m_qualifying, m_level_id,
           m_referral_code, m_created_at, v_blocked
      FROM loyalty_membership WHERE id = stamps_find_member(p_merchant, p_user) FOR UPDATE;
    IF NOT FOUND THEN refusal := 'user_not_found'; RETURN; END IF;
    IF v_blocked THEN refusal := 'membership_blocked'; RETURN; END IF;
    SELECT minimum_qualifying_stamps, number, name INTO v_threshold, m_level_number, m_level_name
      FROM loyalty_level WHERE id = m_level_id;
    IF v_threshold < p_level_threshold THEN refusal := 'level_not_reached'; RETURN; END IF;
    SELECT coalesce(sum(stamps_remaining), 0)::bigint INTO v_due FROM loyalty_award
     WHERE membership_id = m_id AND status = 1 AND stamps_remaining > 0
       AND expiration_date < p_today;  -- what stamps_expire_due writes off below
    IF m_stamps - v_due < p_stamps THEN refusal := 'insufficient_stamps'; RETURN; END IF;
    IF p_limited_stock THEN
        UPDATE redemptions_reward SET stock = stock - 1 WHERE id = p_reward AND stock > 0;
        IF NOT FOUND THEN refusal := 'out_of_stock'; RETURN; END IF;
    END IF;

    IF v_due > 0 THEN
        m_stamps := m_stamps + stamps_expire_due(m_id, p_today, p_now);
    END IF;
    m_stamps := m_stamps - p_stamps;
    INSERT INTO loyalty_stampsdeduction (membership_id, stamps, notes, purpose, status, created_at)
    VALUES (m_id, p_stamps, p_notes, p_purpose, 1, p_now)
    RETURNING id INTO deduction_id;
    FOR lot IN
        SELECT id, stamps_remaining FROM loyalty_award
         WHERE loyalty_award.membership_id = m_id AND status = 1 AND stamps_remaining > 0
           AND expiration_date >= p_today
         ORDER BY expiration_date, id
    LOOP
        v_take := least(lot.stamps_remaining, v_need);
        UPDATE loyalty_award SET stamps_remaining = stamps_remaining - v_take WHERE id = lot.id;
        INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind, delta,
                                         created_at)
        VALUES (m_id, lot.id, deduction_id, 3, -v_take, p_now);
        v_need := v_need - v_take;
        EXIT WHEN v_need = 0;
    END LOOP;
    UPDATE loyalty_membership SET stamps = m_stamps WHERE id = m_id;
    IF p_reward IS NOT NULL THEN
        INSERT INTO redemptions_redemption (membership_id, reward_id, store_id, deduction_id,
                                            stamps_used, status, invoice_number, created_at)
        VALUES (m_id, p_reward, p_store, deduction_id, p_stamps, 1, p_invoice, p_now)
        RETURNING id INTO redemption_id;
    END IF;
END $$;

-- A redemption in one round trip: the store, the reward, its window and stores are checked
-- here (in the order redemptions/services.py checks them on SQLite), then stamps_spend draws
-- the reward's price. A refusal comes with what its message needs (the level's name).
CREATE OR REPLACE FUNCTION stamps_redeem(
    p_merchant bigint, p_user text, p_store bigint, p_reward bigint, p_invoice text,
    p_today date, p_now timestamptz,
    OUT refusal text, OUT refusal_detail text, OUT m_id bigint, OUT m_email text,
    OUT m_member_id text, OUT m_name text, OUT m_stamps bigint, OUT m_qualifying bigint,
    OUT m_level_id bigint, OUT m_level_number integer, OUT m_level_name text,
    OUT m_referral_code text, OUT m_created_at timestamptz,
    OUT deduction_id bigint, OUT redemption_id bigint, OUT reward_name text,
    OUT stamps_used integer, OUT notes text
) LANGUAGE plpgsql AS $$
DECLARE
    r redemptions_reward%ROWTYPE;
    v_threshold bigint;
    spent record;
BEGIN
    PERFORM 1 FROM loyalty_store WHERE id = p_store AND merchant_id = p_merchant AND is_active;
    IF NOT FOUND THEN refusal := 'invalid_store'; RETURN; END IF;
    SELECT * INTO r FROM redemptions_reward
     WHERE id = p_reward AND merchant_id = p_merchant AND is_active;
    IF NOT FOUND THEN refusal := 'invalid_reward'; RETURN; END IF;
    IF r.starts_at IS NOT NULL AND p_now < r.starts_at THEN
        refusal := 'not_yet_available'; RETURN;
    END IF;
    IF r.ends_at IS NOT NULL AND p_now >= r.ends_at THEN
        refusal := 'no_longer_available'; RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM redemptions_reward_stores WHERE reward_id = r.id)
       AND NOT EXISTS (SELECT 1 FROM redemptions_reward_stores
                        WHERE reward_id = r.id AND store_id = p_store) THEN
        refusal := 'store_not_eligible'; RETURN;
    END IF;
    SELECT minimum_qualifying_stamps, name INTO v_threshold, refusal_detail
      FROM loyalty_level WHERE id = r.minimum_level_id;

    reward_name := r.name;
    stamps_used := r.stamps_to_redeem;
    notes := left('Redemption: ' || r.name, 255);
    SELECT * INTO spent FROM stamps_spend(
        p_merchant, p_user, r.stamps_to_redeem, notes, 2, p_today, p_now, r.id, p_store,
        v_threshold, r.stock IS NOT NULL, p_invoice);
    refusal := spent.refusal;
    IF refusal IS NOT NULL THEN RETURN; END IF;
    refusal_detail := NULL;
    SELECT spent.m_id, spent.m_email, spent.m_member_id, spent.m_name, spent.m_stamps,
           spent.m_qualifying, spent.m_level_id, spent.m_level_number, spent.m_level_name,
           spent.m_referral_code, spent.m_created_at, spent.deduction_id, spent.redemption_id
      INTO m_id, m_email, m_member_id, m_name, m_stamps, m_qualifying, m_level_id,
           m_level_number, m_level_name, m_referral_code, m_created_at, deduction_id,
           redemption_id;
END $$;

-- Cancels an award whose lot is whole, the usual case (a till voids its last sale). A lot
-- that stamps were spent from answers 'spent_from_lot' before writing anything: re-drawing
-- those spends from other lots is left to loyalty/ledger.py (lot_close_for_cancel).
CREATE OR REPLACE FUNCTION stamps_cancel(
    p_merchant bigint, p_user text, p_award bigint, p_today date, p_now timestamptz,
    OUT refusal text, OUT m_id bigint, OUT m_email text, OUT m_member_id text, OUT m_name text,
    OUT m_stamps bigint, OUT m_qualifying bigint, OUT m_level_id bigint, OUT m_level_number integer,
    OUT m_level_name text, OUT m_referral_code text, OUT m_created_at timestamptz,
    OUT number_of_stamps integer, OUT store_id bigint, OUT expiration_date date
) LANGUAGE plpgsql AS $$
DECLARE
    a loyalty_award%ROWTYPE;
    v_previous_level bigint;
BEGIN
    SELECT id, email, member_id, name, stamps, qualifying_stamps, level_id, referral_code,
           created_at
      INTO m_id, m_email, m_member_id, m_name, m_stamps, m_qualifying, v_previous_level,
           m_referral_code, m_created_at
      FROM loyalty_membership WHERE id = stamps_find_member(p_merchant, p_user) FOR UPDATE;
    IF NOT FOUND THEN refusal := 'user_not_found'; RETURN; END IF;
    SELECT * INTO a FROM loyalty_award WHERE id = p_award AND membership_id = m_id;
    IF NOT FOUND THEN refusal := 'award_not_found'; RETURN; END IF;
    IF a.status = 2 THEN refusal := 'award_canceled'; RETURN; END IF;
    IF a.status = 3 OR a.expiration_date < p_today THEN refusal := 'award_expired'; RETURN; END IF;
    IF a.stamps_remaining < a.number_of_stamps THEN refusal := 'spent_from_lot'; RETURN; END IF;

    IF EXISTS (SELECT 1 FROM loyalty_award  -- rare: a lot past its date, not yet written off
                WHERE membership_id = m_id AND status = 1 AND stamps_remaining > 0
                  AND loyalty_award.expiration_date < p_today) THEN
        m_stamps := m_stamps + stamps_expire_due(m_id, p_today, p_now);
    END IF;
    m_stamps := m_stamps - a.number_of_stamps;
    m_qualifying := m_qualifying - a.number_of_stamps;
    UPDATE loyalty_award SET stamps_remaining = 0, status = 2, canceled_at = p_now
     WHERE id = a.id;
    INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind, delta, created_at)
    VALUES (m_id, a.id, NULL, 2, -a.number_of_stamps, p_now);
    -- The level the qualifying stamps reach (stamps_award has the same rule)
    SELECT l.id, l.number, l.name INTO m_level_id, m_level_number, m_level_name
      FROM loyalty_level l WHERE l.merchant_id = p_merchant
     ORDER BY l.minimum_qualifying_stamps <= m_qualifying DESC,
              abs(m_qualifying - l.minimum_qualifying_stamps)
     LIMIT 1;
    IF m_level_id <> v_previous_level THEN  -- rare: only a cancel that drops below a threshold
        PERFORM stamps_level_change_record(m_id, v_previous_level, m_level_id, a.id, p_now);
    END IF;
    UPDATE loyalty_membership
       SET stamps = m_stamps, qualifying_stamps = m_qualifying, level_id = m_level_id
     WHERE id = m_id;
    number_of_stamps := a.number_of_stamps;
    store_id := a.store_id;
    expiration_date := a.expiration_date;
END $$;

-- Records a member's move between levels (loyalty.models.LevelChange); the callers call it
-- only when the level differs. Upgrade (1) or downgrade (2) by the thresholds as they are now.
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
