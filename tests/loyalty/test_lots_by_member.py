"""A member's lots are indexed in two halves, spendable and closed (models.Award), so an
award writes one index page chosen by member, not two. Reading every lot of a member
goes through `Award.objects.of_member`, which names both halves."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from loyalty.models import Award, AwardStatus, Membership, Store
from tests.factories import MembershipFactory
from tests.pg_catalog import indexes_led_by_member

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 22)


def lots(member: Membership, store: Store, **states: tuple[int, int]) -> list[Award]:
    """One lot per named state, as (status, stamps remaining) out of 5."""
    return Award.objects.bulk_create(
        Award(
            membership=member,
            store=store,
            number_of_stamps=5,
            stamps_remaining=remaining,
            expiration_date=TODAY,
            status=status,
            notes=name,
            created_at=timezone.now(),
        )
        for name, (status, remaining) in states.items()
    )


EVERY_STATE = {
    "unspent": (AwardStatus.ACTIVE, 5),
    "partly spent": (AwardStatus.ACTIVE, 2),
    "spent": (AwardStatus.ACTIVE, 0),
    "cancelled": (AwardStatus.CANCELED, 0),
    "expired": (AwardStatus.EXPIRED, 0),
}


def test_of_member_is_every_lot_of_that_member_in_every_state(tenant):
    mine = lots(tenant.member, tenant.store, **EVERY_STATE)
    lots(MembershipFactory(merchant=tenant.merchant), tenant.store, **EVERY_STATE)

    found = Award.objects.of_member(tenant.member).order_by("pk")

    assert [lot.notes for lot in found] == list(EVERY_STATE)
    assert [lot.pk for lot in found] == [lot.pk for lot in mine]


def test_of_member_reads_the_two_halves_not_the_table(tenant):
    members = MembershipFactory.create_batch(50, merchant=tenant.merchant)
    for member in members:
        lots(member, tenant.store, **EVERY_STATE)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE loyalty_award")
        # A table this small is cheaper to read whole; a real one is not.
        cursor.execute("SET LOCAL enable_seqscan = off")

    plan = Award.objects.of_member(members[0]).explain()

    assert "Bitmap Index Scan on award_spendable_lots" in plan
    assert "Bitmap Index Scan on award_closed_lots" in plan
    assert plan.count("Index Cond: (membership_id = ") == 2, plan


def test_on_postgresql_the_only_indexes_led_by_member_are_the_two_halves():
    """A new lot is spendable, so an award writes to one of them (README, Scale)."""
    assert indexes_led_by_member("loyalty_award") == [
        ("award_closed_lots", "(stamps_remaining = 0)"),
        ("award_spendable_lots", "((stamps_remaining > 0) AND (status = 1))"),
    ]
