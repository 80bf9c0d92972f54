"""The database itself refuses an impossible lot or ledger entry, whatever code writes it
(on both backends). Each rule: the rows it must accept, then the rows it must refuse."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from loyalty.ledger import SYSTEM
from loyalty.models import Award, AwardStatus, EntryKind, LedgerEntry, Membership, StampsDeduction
from redemptions.models import Redemption
from redemptions.services import redemption_create
from tests.factories import MembershipFactory, RewardFactory, award_stamps, deduct_stamps, redeemed
from tests.pg_catalog import indexes_led_by_member

pytestmark = pytest.mark.django_db

AWARD, CANCEL, SPEND, REDRAW, EXPIRY, REFUND = (
    EntryKind.AWARD,
    EntryKind.AWARD_CANCEL,
    EntryKind.SPEND,
    EntryKind.REDRAW,
    EntryKind.EXPIRY,
    EntryKind.REFUND,
)
NAMES_A_DEDUCTION = {SPEND, REDRAW, REFUND}
ADDS = {AWARD, REFUND}
TAKES = {CANCEL, SPEND, EXPIRY}


@pytest.fixture
def lot(tenant):
    award = award_stamps(tenant.member, 5, store=tenant.store)
    deduction = deduct_stamps(tenant.member, 1)
    return award, deduction


def entry(lot, kind: int, delta: int, *, with_deduction: bool) -> None:
    award, deduction = lot
    with transaction.atomic():
        LedgerEntry.objects.create(
            membership_id=award.membership_id,
            award=award,
            deduction=deduction if with_deduction else None,
            kind=kind,
            delta=delta,
            created_at=timezone.now(),
        )


def constraints_check_now() -> None:
    """Foreign keys are checked at commit, which a test inside its transaction never reaches."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    else:
        connection.check_constraints(table_names=["loyalty_ledgerentry"])


def refused(write) -> bool:
    try:
        write()
    except IntegrityError:
        return True
    return False


def allowed_sign(kind: int, delta: int) -> bool:
    return delta != 0 and (kind == REDRAW or (delta > 0) == (kind in ADDS))


class TestLedgerEntries:
    @pytest.mark.parametrize("kind", list(EntryKind))
    @pytest.mark.parametrize("delta", [-2, 0, 3])
    @pytest.mark.parametrize("with_deduction", [True, False])
    def test_kind_sign_and_deduction_agree(self, lot, kind, delta, with_deduction):
        possible = allowed_sign(kind, delta) and with_deduction == (kind in NAMES_A_DEDUCTION)

        assert refused(lambda: entry(lot, kind, delta, with_deduction=with_deduction)) != possible

    @pytest.mark.parametrize("kind", [0, 7, -1])
    def test_an_unknown_kind_is_refused(self, lot, kind):
        assert refused(lambda: entry(lot, kind, 1, with_deduction=False))
        assert refused(lambda: entry(lot, kind, -1, with_deduction=True))


class TestLots:
    def lot_update(self, award: Award, **values) -> None:
        with transaction.atomic():
            Award.objects.filter(pk=award.pk).update(**values)

    @pytest.mark.parametrize(
        ("values", "possible"),
        [
            ({"stamps_remaining": 0}, True),
            ({"stamps_remaining": 5}, True),
            ({"stamps_remaining": -1}, False),
            ({"stamps_remaining": 6}, False),
            ({"number_of_stamps": 0, "stamps_remaining": 0}, False),
            ({"number_of_stamps": -3, "stamps_remaining": -3}, False),
            ({"status": AwardStatus.CANCELED, "stamps_remaining": 0}, True),
            ({"status": AwardStatus.CANCELED}, False),
            ({"status": AwardStatus.EXPIRED}, False),
        ],
    )
    def test_a_lot_stays_within_its_size_and_closed_lots_are_empty(self, lot, values, possible):
        award, _ = lot

        assert refused(lambda: self.lot_update(award, **values)) != possible


def update_refused(model, pk: int, **values) -> bool:
    def write() -> None:
        with transaction.atomic():
            model.objects.filter(pk=pk).update(**values)

    return refused(write)


class TestMembers:
    @pytest.mark.parametrize(
        ("values", "possible"),
        [
            ({"stamps": 0, "qualifying_stamps": 0}, True),
            ({"stamps": -1}, False),
            ({"qualifying_stamps": -1}, False),
            ({"gender": None}, True),
            ({"gender": -1}, False),
            ({"email": None}, True),
            ({"email": "till@example.com"}, True),
            ({"email": "Till@example.com"}, False),
        ],
    )
    def test_balances_stay_whole_and_emails_lowercase(self, tenant, values, possible):
        assert update_refused(Membership, tenant.member.pk, **values) != possible


class TestSpends:
    @pytest.mark.parametrize(("stamps", "possible"), [(1, True), (0, False), (-1, False)])
    def test_a_deduction_takes_something(self, lot, stamps, possible):
        _, deduction = lot

        assert update_refused(StampsDeduction, deduction.pk, stamps=stamps) != possible

    @pytest.mark.parametrize(("stamps_used", "possible"), [(1, True), (0, False)])
    def test_a_redemption_costs_something(self, tenant, stamps_used, possible):
        award_stamps(tenant.member, 10, store=tenant.store)
        redemption = redeemed(
            redemption_create(
                merchant=tenant.merchant,
                customer=tenant.member.email,
                store_id=tenant.store.pk,
                reward_id=RewardFactory(merchant=tenant.merchant).pk,
                now=timezone.now(),
                actor=SYSTEM,
            )
        )

        assert update_refused(Redemption, redemption.pk, stamps_used=stamps_used) != possible


class TestEntryOwner:
    """On PostgreSQL an entry's (award, membership) references its lot's (migration 0015),
    which also checks the lot on its own (migration 0019)."""

    def write(self, membership: Membership, award_id: int) -> None:
        with transaction.atomic():
            LedgerEntry.objects.create(
                membership=membership,
                award_id=award_id,
                kind=AWARD,
                delta=1,
                created_at=timezone.now(),
            )
            constraints_check_now()

    def test_an_entry_names_its_lots_member_or_is_refused(self, tenant, lot):
        award, _ = lot
        stranger = MembershipFactory(merchant=tenant.merchant)

        assert not refused(lambda: self.write(tenant.member, award.pk))
        assert refused(lambda: self.write(stranger, award.pk))

    def test_an_entry_naming_no_lot_is_refused(self, tenant, lot):
        award, _ = lot
        missing = Award.objects.order_by("-pk").values_list("pk", flat=True).first() + 1

        assert not refused(lambda: self.write(tenant.member, award.pk))
        assert refused(lambda: self.write(tenant.member, missing))

    def test_the_lot_reference_is_the_only_check_of_an_entrys_lot(self):
        """Each foreign key is a query at every commit that writes an entry (migration 0019)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE contype = 'f'"
                " AND conrelid = 'loyalty_ledgerentry'::regclass"
                " AND confrelid = 'loyalty_award'::regclass"
            )
            assert cursor.fetchall() == [("entry_lot_of_member",)]

    @pytest.mark.parametrize("table", ["loyalty_ledgerentry", "loyalty_emailoutbox"])
    def test_no_index_on_what_each_award_appends_is_led_by_member(self, table):
        """Each would be one more random page written per award (README, Scale)."""
        assert indexes_led_by_member(table) == []


ROW_RULES = {
    "loyalty_membership": "membership_rules",
    "loyalty_award": "award_rules",
    "loyalty_ledgerentry": "entry_rules",
    "loyalty_stampsdeduction": "deduction_rules",
    "redemptions_redemption": "redemption_rules",
}


def test_each_ledger_table_has_its_rules_in_one_check():
    """Django's own checks on these tables would be read back on every write (row_rules.sql)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint"
            " WHERE contype = 'c' AND conrelid::regclass::text = ANY(%s)",
            [list(ROW_RULES)],
        )
        checks = sorted(cursor.fetchall())

    assert checks == sorted(ROW_RULES.items())


def test_members_pages_keep_room_for_their_balance_updates():
    """Each award rewrites the member's row; room on its page keeps that off the members'
    indexes even on pages packed by inserts or VACUUM FULL (migration 0017)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = 'loyalty_membership'::regclass")
        assert cursor.fetchone() == (["fillfactor=90"],)
