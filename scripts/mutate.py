"""`make mutate`: plants each of a curated list of realistic bugs in the code or the ledger's
SQL, one at a time, runs the tests that should catch it, and fails if any survives.

A mutation is (name, file, text, its replacement, tests). The text must occur exactly once
in the file (the list fails loudly when the code it names has moved). Each bug that once
survived the suite stays in the list after its test was written. Too slow for every CI run
(a minute or so a mutation): run it before closing an issue that touches the ledger, and
record the score and the survivors in docs/testing.md.

Usage: python scripts/mutate.py [--list] [NAME ...]
The database is make test's (DATABASE_URL's server, else the embedded one); pytest
names its database test_<name>, so give a run beside another suite its own name.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEDGER = "loyalty/sql/0020_ledger.sql"
FIND_MEMBER = "loyalty/sql/0023_find_member.sql"
BOUNDARIES = "tests/loyalty/test_expiry_boundaries.py"
MODEL = "tests/loyalty/test_ledger_state_machine.py"
LEDGER_TESTS = "tests/loyalty/test_ledger.py"
ISOLATION = "tests/test_read_isolation.py tests/test_tenant_isolation.py"
CONTRACT = "tests/contract/test_documented_shapes.py"


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    text: str
    replacement: str
    tests: str


MUTATIONS = [
    # expiry, at its boundary
    Mutation(
        "a lot expires on its date, not after it",
        LEDGER,
        "SELECT p_expiration < p_today",
        "SELECT p_expiration <= p_today",
        BOUNDARIES,
    ),
    Mutation(
        "the sweep writes off lots on their expiration date",
        LEDGER,
        "AND stamps_lot_overdue(expiration_date, p_today)\n    ), closed AS",
        "AND expiration_date <= p_today\n    ), closed AS",
        BOUNDARIES,
    ),
    Mutation(
        "the spendable balance leaves out lots on their date",
        LEDGER,
        "AND stamps_lot_overdue(a.expiration_date, p_today)), 0)::bigint",
        "AND a.expiration_date <= p_today), 0)::bigint",
        BOUNDARIES,
    ),
    Mutation(
        "a redemption cancel refuses to refund a lot that expires today",
        LEDGER,
        "AND NOT stamps_lot_overdue(a.expiration_date, p_today)\n        RETURNING",
        "AND a.expiration_date > p_today\n        RETURNING",
        BOUNDARIES,
    ),
    Mutation(
        "a redemption cancel refunds lots that have expired",
        LEDGER,
        "AND NOT stamps_lot_overdue(a.expiration_date, p_today)\n        RETURNING",
        "\n        RETURNING",
        BOUNDARIES,
    ),
    Mutation(
        "the expiration journal lists lots past their date",
        "loyalty/selectors.py",
        '.exclude(LotOverdue("expiration_date", since))',
        ".filter(expiration_date__gt=since)",
        BOUNDARIES,
    ),
    Mutation(
        "the merchant's day is the server's UTC day",
        "loyalty/ledger.py",
        "return moment.astimezone(ZoneInfo(merchant.time_zone)).date()",
        "return moment.astimezone(ZoneInfo('UTC')).date()",
        BOUNDARIES,
    ),
    Mutation(
        "the default expiration is a day short",
        "loyalty/services.py",
        "return today + timedelta(days=merchant.stamps_validity_days)",
        "return today + timedelta(days=merchant.stamps_validity_days - 1)",
        BOUNDARIES,
    ),
    # lot order and amounts
    Mutation(
        "spends draw the latest-expiring lot first",
        LEDGER,
        "ORDER BY expiration_date, id\n    LOOP",
        "ORDER BY expiration_date DESC, id\n    LOOP",
        LEDGER_TESTS,
    ),
    Mutation(
        "of two lots expiring the same day, spends draw the newer",
        LEDGER,
        "ORDER BY expiration_date, id\n    LOOP",
        "ORDER BY expiration_date, id DESC\n    LOOP",
        LEDGER_TESTS,
    ),
    Mutation(
        "a cancel's redraw may draw from the cancelled lot itself",
        LEDGER,
        "AND id IS DISTINCT FROM p_except",
        "AND true",
        f"{LEDGER_TESTS} {MODEL}",
    ),
    Mutation(
        "a purchase rounds its stamps up",
        LEDGER,
        "floor(p_total / p_rate)::integer",
        "ceil(p_total / p_rate)::integer",
        "tests/transactions/test_transactions_api.py",
    ),
    # refusal checks and their order
    Mutation(
        "a blocked member can earn",
        LEDGER,
        "IF v_blocked THEN refusal := 'membership_blocked'; RETURN; END IF;",
        "",
        f"{LEDGER_TESTS} tests/loyalty/test_stamps_add_api.py",
    ),
    Mutation(
        "the level is checked before the block",
        LEDGER,
        "        WHEN p_blocked THEN 'membership_blocked'\n"
        "        WHEN p_level_minimum < p_level_needed THEN 'level_not_reached'",
        "        WHEN p_level_minimum < p_level_needed THEN 'level_not_reached'\n"
        "        WHEN p_blocked THEN 'membership_blocked'",
        "tests/redemptions/test_redemptions_add_api.py",
    ),
    Mutation(
        "a member may spend one stamp more than they hold",
        LEDGER,
        "WHEN p_spendable < p_stamps THEN 'insufficient_stamps'",
        "WHEN p_spendable < p_stamps - 1 THEN 'insufficient_stamps'",
        "tests/loyalty/test_deduct_stamps_api.py",
    ),
    Mutation(
        "the last item of a stock cannot be redeemed",
        LEDGER,
        "WHEN p_stock <= 0 THEN 'out_of_stock'",
        "WHEN p_stock <= 1 THEN 'out_of_stock'",
        "tests/redemptions/test_redemptions_add_api.py",
    ),
    Mutation(
        "a reward is still redeemable at the moment its window ends",
        LEDGER,
        "WHEN p_ends IS NOT NULL AND p_now >= p_ends THEN 'no_longer_available'",
        "WHEN p_ends IS NOT NULL AND p_now > p_ends THEN 'no_longer_available'",
        "tests/redemptions/test_redemptions_add_api.py tests/redemptions/test_rewards_api.py",
    ),
    Mutation(
        "a reward limited to some stores is redeemable at any",
        LEDGER,
        "             AND NOT EXISTS (SELECT 1 FROM redemptions_reward_stores",
        "             AND EXISTS (SELECT 1 FROM redemptions_reward_stores",
        "tests/redemptions/test_redemptions_add_api.py tests/redemptions/test_rewards_api.py",
    ),
    Mutation(
        "a cancelled award can be cancelled again",
        LEDGER,
        "IF a.status = 2 THEN refusal := 'award_canceled'; RETURN; END IF;",
        "",
        "tests/loyalty/test_stamps_cancel_api.py",
    ),
    Mutation(
        "an award may exceed the merchant's largest",
        LEDGER,
        "IF p_stamps > p_max_stamps THEN",
        "IF p_stamps > p_max_stamps + 1 THEN",
        "tests/loyalty/test_stamps_add_api.py",
    ),
    Mutation(
        "a store of another merchant is accepted for an award",
        LEDGER,
        "    PERFORM 1 FROM loyalty_store"
        " WHERE id = p_store AND merchant_id = p_merchant AND is_active;\n"
        "    IF NOT FOUND THEN refusal := 'invalid_store'; RETURN; END IF;\n"
        "    SELECT id, email",
        "    PERFORM 1 FROM loyalty_store WHERE id = p_store AND is_active;\n"
        "    IF NOT FOUND THEN refusal := 'invalid_store'; RETURN; END IF;\n"
        "    SELECT id, email",
        "tests/test_tenant_isolation.py",
    ),
    # level choice
    Mutation(
        "a member reaches a level one stamp early",
        LEDGER,
        "ORDER BY l.minimum_qualifying_stamps <= p_qualifying DESC,",
        "ORDER BY l.minimum_qualifying_stamps <= p_qualifying + 1 DESC,",
        "tests/loyalty/test_levels.py",
    ),
    Mutation(
        "a cancel keeps the level its award reached",
        LEDGER,
        "    m_qualifying := m_qualifying - a.number_of_stamps;\n",
        "",
        "tests/loyalty/test_levels.py",
    ),
    # tenant scoping
    Mutation(
        "a member is found by email across merchants",
        FIND_MEMBER,
        "        SELECT id INTO v_id FROM loyalty_membership\n"
        "         WHERE merchant_id = p_merchant AND email = lower(p_user);",
        "        SELECT id INTO v_id FROM loyalty_membership\n"
        "         WHERE email = lower(p_user) ORDER BY id LIMIT 1;",
        "tests/test_tenant_isolation.py",
    ),
    Mutation(
        "a mobile number two members share finds one of them",
        FIND_MEMBER,
        "SELECT CASE WHEN count(*) = 1 THEN min(id) END INTO v_id",
        "SELECT min(id) INTO v_id",
        "tests/loyalty/test_member_lookup.py",
    ),
    Mutation(
        "a redemption of another merchant can be cancelled",
        LEDGER,
        "     WHERE r.id = p_redemption AND m.merchant_id = p_merchant;",
        "     WHERE r.id = p_redemption;",
        "tests/redemptions/test_redemption_cancel.py tests/test_tenant_isolation.py",
    ),
    Mutation(
        "a purchase of another merchant can be cancelled",
        LEDGER,
        "     WHERE id = p_transaction AND merchant_id = p_merchant FOR UPDATE;",
        "     WHERE id = p_transaction FOR UPDATE;",
        "tests/transactions/test_transactions_api.py",
    ),
    Mutation(
        "the activities show every member's expiries",
        "loyalty/selectors.py",
        "LedgerEntry.objects.filter(award__membership=membership, kind=EntryKind.EXPIRY)",
        "LedgerEntry.objects.filter(kind=EntryKind.EXPIRY)",
        ISOLATION,
    ),
    Mutation(
        "the activities show every member's deductions",
        "loyalty/selectors.py",
        "StampsDeduction.objects.filter(membership=membership, purpose=DeductionPurpose.DEDUCTION)",
        "StampsDeduction.objects.filter(purpose=DeductionPurpose.DEDUCTION)",
        f"{ISOLATION} tests/loyalty/test_activity_apis.py",
    ),
    Mutation(
        "the rewards list shows every merchant's rewards",
        "redemptions/selectors.py",
        "Reward.objects.filter(merchant=merchant, is_active=True)",
        "Reward.objects.filter(is_active=True)",
        f"{ISOLATION} tests/redemptions/test_rewards_api.py",
    ),
    # idempotency
    Mutation(
        "a retry to another endpoint with the same body is replayed",
        "core/idempotency/services.py",
        "canonical = json.dumps([path, data], sort_keys=True",
        "canonical = json.dumps([data], sort_keys=True",
        "tests/idempotency/test_idempotent_requests.py",
    ),
    Mutation(
        "a key is shared between merchants",
        "core/idempotency/sql/0002_claim.sql",
        "     WHERE r.merchant_id = p_merchant AND r.key = p_key;",
        "     WHERE r.key = p_key;",
        "tests/idempotency/test_idempotent_requests.py tests/test_tenant_isolation.py",
    ),
    # answers
    Mutation(
        "an award answers the qualifying stamps as the balance",
        "loyalty/apis.py",
        'return {"id": member.id, "stamps": member.stamps, "status": member.level_name}',
        'return {"id": member.id, "stamps": member.qualifying_stamps, "status": member.level_name}',
        "tests/loyalty/test_stamps_add_api.py",
    ),
    Mutation(
        "the member's details give the gender as a number",
        "loyalty/member_apis.py",
        '"gender": Gender(membership.gender).name.lower() if membership.gender else None,',
        '"gender": membership.gender,',
        CONTRACT,
    ),
    Mutation(
        "an activity's time is an ISO string",
        "activities/apis.py",
        '"created": int(activity.created_at.timestamp()),',
        '"created": activity.created_at.isoformat(),',
        CONTRACT,
    ),
    Mutation(
        "a reward without a minimum level names none",
        "redemptions/reward_apis.py",
        '"membership": minimum.name if minimum else lowest_level,',
        '"membership": minimum.name if minimum else None,',
        CONTRACT,
    ),
    Mutation(
        "an unknown award is a 400, not a 404",
        "loyalty/refusals.py",
        '"award_not_found": Refusal("not_found", "Award not found", "id", NOT_FOUND),',
        '"award_not_found": Refusal("not_found", "Award not found", "id"),',
        "tests/loyalty/test_stamps_cancel_api.py",
    ),
    # keys
    Mutation(
        "a key revoked elsewhere is trusted for ever",
        "loyalty/tokens.py",
        "if ttl and cached is not None and cached[1] > monotonic():",
        "if ttl and cached is not None:",
        "tests/loyalty/test_token_cache.py",
    ),
]


def applied(mutation: Mutation) -> str:
    path = ROOT / mutation.path
    source = path.read_text()
    found = source.count(mutation.text)
    if found != 1:
        sys.exit(f"{mutation.name}: its text occurs {found} times in {mutation.path}")
    return source.replace(mutation.text, mutation.replacement)


TESTS_FAILED = 1  # pytest's exit code when tests ran and some failed


def run_tests(tests: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-p", "no:cacheprovider", *tests.split()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "STAMPS_MODEL_EXAMPLES": os.environ.get("STAMPS_MODEL_EXAMPLES", "60"),
        },
    )


def baseline_passes(mutations: list[Mutation]) -> bool:
    """Each selection of tests passes on the unmutated code, or no verdict means anything."""
    for tests in dict.fromkeys(m.tests for m in mutations):
        result = run_tests(tests)
        if result.returncode != 0:
            print(f"the unmutated code fails {tests}:\n{result.stdout[-3000:]}")
            return False
    return True


def killed(mutation: Mutation) -> bool:
    """True when the tests ran and failed; a run that broke (exit 2 to 5) stops everything."""
    path = ROOT / mutation.path
    original = path.read_text()
    path.write_text(applied(mutation))
    try:
        result = run_tests(mutation.tests)
    finally:
        path.write_text(original)
    if result.returncode not in (0, TESTS_FAILED):
        broke = f"{mutation.name}: pytest broke (exit {result.returncode})"
        sys.exit(f"{broke}:\n{result.stdout[-3000:]}")
    return result.returncode == TESTS_FAILED


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="only the mutations whose names contain these")
    parser.add_argument("--list", action="store_true", help="check and list the mutations")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.names or any(n in m.name for n in args.names)]
    for mutation in chosen:
        applied(mutation)  # every text still in place
    if args.list:
        for mutation in chosen:
            print(f"{mutation.name}  [{mutation.path}]")
        return 0
    # a kill between planting a bug and taking it out must still take it out (finally)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not baseline_passes(chosen):
        return 2
    survivors = []
    for number, mutation in enumerate(chosen, 1):
        started = time.monotonic()
        caught = killed(mutation)
        seconds = time.monotonic() - started
        verdict = "killed  " if caught else "SURVIVED"
        print(f"{number:2}/{len(chosen)} {verdict} {mutation.name} ({seconds:.0f} s)", flush=True)
        if not caught:
            survivors.append(mutation.name)
    print(f"\n{len(chosen) - len(survivors)} of {len(chosen)} mutations killed")
    for name in survivors:
        print(f"  survived: {name}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
