"""Nobody sees anyone else's rows. Two merchants with overlapping customers (the same emails
and Member IDs at both), each with awards, deductions, redemptions, purchases, expiries and
level changes, and a second member at the first merchant; every read endpoint, found in the
URL configuration, is called as merchant A for one of A's members, and no row of the answer
may belong to another member or to merchant B.

Every row this test makes for someone else carries the marker "OTHER" in the text a read
shows of it (a note, a store's or a reward's name, an invoice number, a level's name); rows
without text (an expiry) are counted instead. A new read endpoint joins by itself: the test
fills its required parameters from PARAMETERS, and fails for one it does not know."""

import datetime
import json
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from core.api import StampsReadView
from loyalty.expiry import stamps_expire_due
from loyalty.ledger import SYSTEM
from loyalty.models import Award, Level, Membership, Store
from redemptions.services import redemption_create
from tests.conftest import Tenant
from tests.factories import (
    MembershipFactory,
    RewardFactory,
    StoreFactory,
    award_stamps,
    deduct_stamps,
)
from transactions.services import Purchase, transaction_create

pytestmark = pytest.mark.django_db
MARK = "OTHER"
LONG_AGO = timezone.now() - datetime.timedelta(days=40)


def read_endpoints() -> list[tuple[str, type[StampsReadView]]]:
    """(path, view) of every GET endpoint under /api/ that reads for a till."""
    found = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "cls", None)
                if isinstance(view, type) and issubclass(view, StampsReadView):
                    route = str(pattern.pattern).lstrip("^").rstrip("$").replace("/?", "/")
                    found.append(("/" + prefix + route, view))

    walk(get_resolver().url_patterns, "")
    return found


ENDPOINTS = read_endpoints()


def history(member: Membership, store: Store, *, marked: bool, theirs: bool = False) -> None:
    """Every kind of row a member's reads can show: a lot that expired, awards, a level
    change, a deduction, a redemption and a purchase. The reward is the merchant's, which
    every member of it may see: it is marked only at the other merchant (`theirs`)."""
    text = MARK if marked else "ours"
    award_stamps(member, 3, store=store, expiration_date=LONG_AGO.date(), now=LONG_AGO)
    stamps_expire_due(now=timezone.now())
    award_stamps(member, 60, store=store)  # reaches the second level
    deduct_stamps(member, 2)
    reward_text = MARK if theirs else "ours"
    reward = RewardFactory(
        merchant=member.merchant, name=f"{reward_text} reward", stamps_to_redeem=5
    )
    redemption_create(
        merchant=member.merchant,
        customer=None,
        store_id=store.pk,
        reward_id=reward.pk,
        now=timezone.now(),
        actor=SYSTEM,
        membership_id=member.pk,
    )
    transaction_create(
        merchant=member.merchant,
        purchase=Purchase(
            store=store.pk,
            invoice_number=f"{text}-INV-1",
            total_value=50000,
            number_of_people=1,
            created=timezone.now(),
            user=str(member.email),
        ),
        now=timezone.now(),
        actor=SYSTEM,
    )


@pytest.fixture
def world(tenant: Tenant, other_tenant: Tenant) -> Tenant:
    """Merchant A (`tenant`) with its member and another; merchant B with members who share
    the A member's email and Member ID, everything of B's and of A's other member marked."""
    for level in Level.objects.filter(merchant=other_tenant.merchant):
        level.name = f"{MARK} {level.name}"
        level.save(update_fields=["name"])
    Store.objects.filter(pk=other_tenant.store.pk).update(name=f"{MARK} store")
    twin = other_tenant.member
    twin.email, twin.member_id, twin.name = tenant.member.email, tenant.member.member_id, MARK
    twin.save(update_fields=["email", "member_id", "name"])
    history(twin, other_tenant.store, marked=True, theirs=True)
    neighbour = MembershipFactory(merchant=tenant.merchant, name=MARK)
    history(neighbour, StoreFactory(merchant=tenant.merchant, name=f"{MARK} store"), marked=True)
    history(tenant.member, tenant.store, marked=False)
    return tenant


PARAMETERS = {
    "user": lambda tenant: tenant.member.email,
    "store": lambda tenant: tenant.store.pk,
}


def parameters(view: type[StampsReadView], tenant: Tenant) -> dict[str, Any]:
    query = {}
    for name, field in view.InputSerializer().fields.items():
        if field.required:
            assert name in PARAMETERS, f"{view.__name__} needs `{name}`: teach PARAMETERS it"
            query[name] = PARAMETERS[name](tenant)
    if "user" in view.InputSerializer().fields:
        query["user"] = tenant.member.email
    if "store" in view.InputSerializer().fields:
        query["store"] = tenant.store.pk
    return query


def test_every_read_endpoint_is_found() -> None:
    paths = {path for path, _ in ENDPOINTS}

    assert {"/api/memberships/status/", "/api/v3/activities/", "/api/rewards/"} <= paths


@pytest.mark.parametrize("user", ["email", "member_id"])
@pytest.mark.parametrize("path, view", ENDPOINTS, ids=[path for path, _ in ENDPOINTS])
def test_a_read_shows_nothing_of_anyone_else(
    world: Tenant, path: str, view: type[StampsReadView], user: str
) -> None:
    query = parameters(view, world)
    if "user" in query:
        query["user"] = getattr(world.member, user)

    response = world.client.get(path, query)

    assert response.status_code == 200, response.content
    text = json.dumps(response.json())
    assert MARK not in text
    assert own_rows_shown(response.json(), world), "the answer shows nothing at all"


def own_rows_shown(body: Any, tenant: Tenant) -> bool:
    """Whether the answer shows one of the member's own rows (its id, a lot's id, a text of
    theirs): an empty answer hides nothing, but shows nothing either."""
    own_ids = {
        tenant.member.pk,
        *Award.objects.of_member(tenant.member).values_list("pk", flat=True),
    }
    text = json.dumps(body)
    return "ours" in text or any(f'"id": {pk}' in text for pk in own_ids)


def test_the_activities_show_the_members_own_expiry_only(world: Tenant) -> None:
    body = world.client.get("/api/v3/activities/", {"user": world.member.email}).json()

    assert [row["expired_stamps"] for row in body["activities"] if row["type"] == 15] == [3]
