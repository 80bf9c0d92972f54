-- Frozen with migration 0023: stamps_find_member learns the mobile number the Stamps
-- documents also accept as `user`.

-- The member a till names by `user`: an email (case-insensitive) when it has an @, else a
-- Member ID, else, for text that starts with + or 0, a mobile number (+62... and 0... are
-- the same Indonesian number) held by exactly one member, else the numeric id. A Member ID
-- wins over an id with the same digits. The write functions take `p_membership` instead
-- when the caller knows the member (the admin, a purchase): a digit string could be
-- someone else's Member ID.
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
    IF v_id IS NULL AND p_user ~ '^(\+|0)[0-9]{5,19}$' THEN
        SELECT CASE WHEN count(*) = 1 THEN min(id) END INTO v_id FROM loyalty_membership
         WHERE merchant_id = p_merchant AND phone <> ''
           AND phone IN (p_user, regexp_replace(p_user, '^0', '+62'),
                         regexp_replace(p_user, '^\+62', '0'));
    END IF;
    IF v_id IS NULL AND p_user ~ '^[0-9]{1,18}$' THEN
        SELECT id INTO v_id FROM loyalty_membership
         WHERE merchant_id = p_merchant AND id = p_user::bigint;
    END IF;
    RETURN v_id;
END $$;
