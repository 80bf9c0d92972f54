-- PostgreSQL only: the row rules of the tables every ledger write touches, one CHECK per
-- table that calls a function holding the same rules as the models' CheckConstraints (and
-- the `>= 0` checks of Django's Positive*Fields), which stay as they are on SQLite.
-- Why: PostgreSQL reads each CHECK expression back from its stored text on every statement
-- that writes the table (ExecRelCheck: stringToNode, then planning), so an award's twelve
-- checks cost a quarter of its instructions; a call to a function whose body keeps its plan
-- for the session costs less than half of that. tests/loyalty/test_ledger_constraints.py
-- runs the same accepted and refused rows on both backends.
-- The functions must not be STRICT: a NULL argument would make the check NULL, which passes.

CREATE OR REPLACE FUNCTION stamps_membership_rules(
    stamps bigint, qualifying_stamps bigint, gender smallint, email text
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN stamps >= 0 AND qualifying_stamps >= 0 AND (gender IS NULL OR gender >= 0)
       AND (email IS NULL OR email = lower(email));
END $$;

CREATE OR REPLACE FUNCTION stamps_award_rules(
    number_of_stamps integer, stamps_remaining integer, status smallint
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN number_of_stamps > 0 AND stamps_remaining BETWEEN 0 AND number_of_stamps
       AND status >= 0
       AND (status = 1 OR stamps_remaining = 0);  -- closed lots are empty
END $$;

-- Kinds: 1 award, 2 award canceled, 3 spend, 4 spend moved to another lot (either sign),
-- 5 expiry, 6 spend canceled (loyalty.models.EntryKind).
CREATE OR REPLACE FUNCTION stamps_entry_rules(kind smallint, delta integer, deduction_id bigint)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN kind BETWEEN 1 AND 6 AND delta <> 0
       AND ((delta > 0) = (kind IN (1, 6)) OR kind = 4)
       AND ((deduction_id IS NULL) = (kind IN (1, 2, 5)));
END $$;

CREATE OR REPLACE FUNCTION stamps_deduction_rules(stamps integer, purpose smallint, status smallint)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN stamps > 0 AND purpose >= 0 AND status >= 0;
END $$;

CREATE OR REPLACE FUNCTION stamps_redemption_rules(stamps_used integer, status smallint)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN stamps_used > 0 AND status >= 0;
END $$;

-- Every other CHECK on these tables goes: the rules above replace them.
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conrelid::regclass AS tab, conname FROM pg_constraint
              WHERE contype = 'c' AND conname NOT LIKE '%\_rules'
                AND conrelid IN ('loyalty_membership'::regclass, 'loyalty_award'::regclass,
                                 'loyalty_ledgerentry'::regclass,
                                 'loyalty_stampsdeduction'::regclass,
                                 'redemptions_redemption'::regclass) LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tab, c.conname);
    END LOOP;
END $$;

ALTER TABLE loyalty_membership DROP CONSTRAINT IF EXISTS membership_rules,
    ADD CONSTRAINT membership_rules
        CHECK (stamps_membership_rules(stamps, qualifying_stamps, gender, email));
ALTER TABLE loyalty_award DROP CONSTRAINT IF EXISTS award_rules,
    ADD CONSTRAINT award_rules CHECK (stamps_award_rules(number_of_stamps, stamps_remaining, status));
ALTER TABLE loyalty_ledgerentry DROP CONSTRAINT IF EXISTS entry_rules,
    ADD CONSTRAINT entry_rules CHECK (stamps_entry_rules(kind, delta, deduction_id));
ALTER TABLE loyalty_stampsdeduction DROP CONSTRAINT IF EXISTS deduction_rules,
    ADD CONSTRAINT deduction_rules CHECK (stamps_deduction_rules(stamps, purpose, status));
ALTER TABLE redemptions_redemption DROP CONSTRAINT IF EXISTS redemption_rules,
    ADD CONSTRAINT redemption_rules CHECK (stamps_redemption_rules(stamps_used, status));
