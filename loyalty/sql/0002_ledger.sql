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

-- Writes off what is left of the member's lots past their date; the caller holds the
-- membership row lock and adds the returned (negative) change to the cached balance.
CREATE OR REPLACE FUNCTION stamps_expire_due(p_membership bigint, p_today date, p_now timestamptz)
RETURNS bigint LANGUAGE sql AS $$
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
    SELECT -coalesce(sum(stamps_remaining), 0)::bigint FROM due
$$;

CREATE OR REPLACE FUNCTION stamps_due_total(p_membership bigint, p_today date)
RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(stamps_remaining), 0)::bigint FROM loyalty_award
     WHERE membership_id = p_membership AND status = 1 AND stamps_remaining > 0
       AND expiration_date < p_today
$$;

-- What the API answers with about a member after a write.
CREATE OR REPLACE FUNCTION stamps_member_view(m loyalty_membership)
RETURNS TABLE (id bigint, email text, member_id text, name text, stamps bigint,
               qualifying bigint, level_id bigint, level_number integer, level_name text,
               referral_code text, created_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT m.id, m.email, m.member_id, m.name, m.stamps, m.qualifying_stamps, l.id, l.number,
           l.name, m.referral_code, m.created_at
      FROM loyalty_level l WHERE l.id = m.level_id
$$;

CREATE OR REPLACE FUNCTION stamps_award(
    p_merchant bigint, p_store bigint, p_user text, p_stamps integer, p_notes text,
    p_expiration date, p_notify boolean, p_today date, p_now timestamptz,
    OUT refusal text, OUT m_id bigint, OUT m_email text, OUT m_member_id text, OUT m_name text,
    OUT m_stamps bigint, OUT m_qualifying bigint, OUT m_level_id bigint, OUT m_level_number integer,
    OUT m_level_name text, OUT m_referral_code text, OUT m_created_at timestamptz,
    OUT award_id bigint
) LANGUAGE plpgsql AS $$
DECLARE
    m loyalty_membership%ROWTYPE;
BEGIN
    PERFORM 1 FROM loyalty_store WHERE id = p_store AND merchant_id = p_merchant AND is_active;
    IF NOT FOUND THEN refusal := 'invalid_store'; RETURN; END IF;
    SELECT * INTO m FROM loyalty_membership
     WHERE id = stamps_find_member(p_merchant, p_user) FOR UPDATE;
    IF NOT FOUND THEN refusal := 'user_not_found'; RETURN; END IF;
    IF m.is_blocked THEN refusal := 'membership_blocked'; RETURN; END IF;

    m.stamps := m.stamps + stamps_expire_due(m.id, p_today, p_now) + p_stamps;
    m.qualifying_stamps := m.qualifying_stamps + p_stamps;
    INSERT INTO loyalty_award (membership_id, store_id, number_of_stamps, stamps_remaining,
                               expiration_date, status, notes, require_email_notification,
                               created_at)
    VALUES (m.id, p_store, p_stamps, p_stamps, p_expiration, 1, p_notes, p_notify, p_now)
    RETURNING loyalty_award.id INTO award_id;
    INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind, delta, created_at)
    VALUES (m.id, award_id, NULL, 1, p_stamps, p_now);
    SELECT id INTO m.level_id FROM loyalty_level
     WHERE merchant_id = p_merchant
     ORDER BY minimum_qualifying_stamps <= m.qualifying_stamps DESC,
              abs(m.qualifying_stamps - minimum_qualifying_stamps)
     LIMIT 1;
    UPDATE loyalty_membership
       SET stamps = m.stamps, qualifying_stamps = m.qualifying_stamps, level_id = m.level_id
     WHERE id = m.id;
    IF p_notify AND m.email IS NOT NULL THEN
        INSERT INTO loyalty_emailoutbox (membership_id, award_id, recipient, stamps_after,
                                         status, attempts, last_error, created_at,
                                         next_attempt_at)
        VALUES (m.id, award_id, m.email, m.stamps, 1, 0, '', p_now, p_now);
    END IF;
    SELECT * INTO m_id, m_email, m_member_id, m_name, m_stamps, m_qualifying, m_level_id,
                  m_level_number, m_level_name, m_referral_code, m_created_at
      FROM stamps_member_view(m);
END $$;

-- Spends from the soonest-expiring lots; a redemption passes its reward, whose minimum
-- level (as a qualifying-stamps threshold) and limited stock are checked under the lock.
CREATE OR REPLACE FUNCTION stamps_spend(
    p_merchant bigint, p_user text, p_stamps integer, p_notes text, p_purpose integer,
    p_today date, p_now timestamptz, p_reward bigint, p_store bigint,
    p_level_threshold bigint, p_limited_stock boolean,
    OUT refusal text, OUT m_id bigint, OUT m_email text, OUT m_member_id text, OUT m_name text,
    OUT m_stamps bigint, OUT m_qualifying bigint, OUT m_level_id bigint, OUT m_level_number integer,
    OUT m_level_name text, OUT m_referral_code text, OUT m_created_at timestamptz,
    OUT deduction_id bigint, OUT redemption_id bigint
) LANGUAGE plpgsql AS $$
DECLARE
    m loyalty_membership%ROWTYPE;
    v_threshold bigint;
    v_need integer := p_stamps;
    v_take integer;
    lot record;
BEGIN
    SELECT * INTO m FROM loyalty_membership
     WHERE id = stamps_find_member(p_merchant, p_user) FOR UPDATE;
    IF NOT FOUND THEN refusal := 'user_not_found'; RETURN; END IF;
    IF m.is_blocked THEN refusal := 'membership_blocked'; RETURN; END IF;
    SELECT minimum_qualifying_stamps INTO v_threshold FROM loyalty_level WHERE id = m.level_id;
    IF v_threshold < p_level_threshold THEN refusal := 'level_not_reached'; RETURN; END IF;
    IF m.stamps - stamps_due_total(m.id, p_today) < p_stamps THEN
        refusal := 'insufficient_stamps'; RETURN;
    END IF;
    IF p_limited_stock THEN
        UPDATE redemptions_reward SET stock = stock - 1 WHERE id = p_reward AND stock > 0;
        IF NOT FOUND THEN refusal := 'out_of_stock'; RETURN; END IF;
    END IF;

    m.stamps := m.stamps + stamps_expire_due(m.id, p_today, p_now) - p_stamps;
    INSERT INTO loyalty_stampsdeduction (membership_id, stamps, notes, purpose, status, created_at)
    VALUES (m.id, p_stamps, p_notes, p_purpose, 1, p_now)
    RETURNING id INTO deduction_id;
    FOR lot IN
        SELECT id, stamps_remaining FROM loyalty_award
         WHERE loyalty_award.membership_id = m.id AND status = 1 AND stamps_remaining > 0
           AND expiration_date >= p_today
         ORDER BY expiration_date, id
    LOOP
        v_take := least(lot.stamps_remaining, v_need);
        UPDATE loyalty_award SET stamps_remaining = stamps_remaining - v_take WHERE id = lot.id;
        INSERT INTO loyalty_ledgerentry (membership_id, award_id, deduction_id, kind, delta,
                                         created_at)
        VALUES (m.id, lot.id, deduction_id, 3, -v_take, p_now);
        v_need := v_need - v_take;
        EXIT WHEN v_need = 0;
    END LOOP;
    UPDATE loyalty_membership SET stamps = m.stamps WHERE id = m.id;
    IF p_reward IS NOT NULL THEN
        INSERT INTO redemptions_redemption (membership_id, reward_id, store_id, deduction_id,
                                            stamps_used, status, created_at)
        VALUES (m.id, p_reward, p_store, deduction_id, p_stamps, 1, p_now)
        RETURNING id INTO redemption_id;
    END IF;
    SELECT * INTO m_id, m_email, m_member_id, m_name, m_stamps, m_qualifying, m_level_id,
                  m_level_number, m_level_name, m_referral_code, m_created_at
      FROM stamps_member_view(m);
END $$;
