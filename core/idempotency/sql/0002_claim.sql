-- Claims an Idempotency-Key for the calling transaction and returns the answer already stored
-- under it, in one round trip. The look-up is its own statement after the lock, so it sees a
-- twin that committed just before the lock was taken (a single statement would read with a
-- snapshot from before it). The lock is try-only: a twin still in flight is not waited for.
CREATE OR REPLACE FUNCTION idempotency_claim(
    p_merchant bigint, p_key text, p_lock bigint,
    OUT claimed boolean, OUT fingerprint text, OUT status_code integer, OUT body bytea
) LANGUAGE plpgsql AS $$
BEGIN
    claimed := pg_try_advisory_xact_lock(p_lock);
    IF NOT claimed THEN
        RETURN;
    END IF;
    SELECT r.fingerprint, r.status_code, r.body INTO fingerprint, status_code, body
      FROM idempotency_idempotentresponse r
     WHERE r.merchant_id = p_merchant AND r.key = p_key;
END $$;
