"""Members are created by one INSERT of a JSON document (core.db.objects_insert): they come
back as stored, and what a constraint refuses is an IntegrityError, which memberships_create
retries after checking again."""

import itertools
import secrets

import pytest

from loyalty import services
from loyalty.models import Membership
from tests.factories import MembershipFactory, MerchantFactory

pytestmark = pytest.mark.django_db


def test_created_members_come_back_saved_as_the_database_holds_them():
    merchant = MerchantFactory()

    created = services.memberships_create(
        merchant=merchant,
        people=[
            {"email": "A@Example.com", "member_id": None, "name": "Ann"},
            {"email": None, "member_id": "C-2", "phone": "0812"},
        ],
    )

    stored = {member.pk: member for member in Membership.objects.filter(merchant=merchant)}
    assert [member.pk for member in created] == sorted(stored)
    for member in created:
        held = stored[member.pk]
        assert (member.email, member.member_id, member.name, member.phone, member.created_at) == (
            held.email,
            held.member_id,
            held.name,
            held.phone,
            held.created_at,
        )
        assert member.level_id == held.level_id
    assert created[0].email == "a@example.com"
    created[1].name = "Saved later"
    created[1].save()
    assert Membership.objects.get(pk=created[1].pk).name == "Saved later"
    assert Membership.objects.filter(merchant=merchant).count() == 2


def test_a_referral_code_already_taken_is_drawn_again(monkeypatch):
    merchant = MerchantFactory()
    MembershipFactory(merchant=merchant, referral_code="AAAAAA")
    first_draw = itertools.chain(["A"] * 6, iter(lambda: "B", None))
    monkeypatch.setattr(secrets, "choice", lambda alphabet: next(first_draw))

    member = services.membership_create(merchant=merchant, email="new@example.com")

    assert Membership.objects.get(pk=member.pk).referral_code == "BBBBBB"


def test_an_email_taken_while_creating_is_refused_as_taken(monkeypatch):
    merchant = MerchantFactory()
    checks = iter([None])  # the first check misses the twin, as a concurrent one would

    def twin_appears(**kwargs):
        if next(checks, "again") is None:
            MembershipFactory(merchant=merchant, email="twin@example.com")
            return None
        return check(**kwargs)

    check = services.ensure_identities_free
    monkeypatch.setattr(services, "ensure_identities_free", twin_appears)

    with pytest.raises(services.MemberExists) as refused:
        services.membership_create(merchant=merchant, email="twin@example.com")

    assert refused.value.field == "email"
    assert Membership.objects.filter(merchant=merchant).count() == 1
