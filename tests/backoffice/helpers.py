"""A merchant with one row of every kind the admin shows, and its staff as logged-in clients."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from backoffice.models import Role, StaffProfile
from backoffice.staff import staff_create
from core.idempotency.models import IdempotentResponse
from loyalty.ledger import SYSTEM
from loyalty.models import Level, Membership, Merchant, Store
from loyalty.tokens import api_token_create
from redemptions.models import Reward
from redemptions.services import redemption_create
from tests.factories import (
    MembershipFactory,
    MerchantFactory,
    RewardFactory,
    StoreFactory,
    award_stamps,
    deduct_stamps,
)
from transactions.services import Purchase, transaction_create

PASSWORD = "a long staff password 42"


@dataclass
class Shop:
    merchant: Merchant
    store: Store
    other_store: Store
    member: Membership
    reward: Reward


def populate_merchant(marker: str) -> Shop:
    """Every kind of row for one merchant, each with `marker` in its name where it has one."""
    merchant = MerchantFactory(name=f"{marker} Merchant")
    for level in Level.objects.filter(merchant=merchant):
        level.name = f"{marker} {level.name}"
        level.save(update_fields=["name"])
    store = StoreFactory(merchant=merchant, name=f"{marker} store")
    other_store = StoreFactory(merchant=merchant, name=f"{marker} second store")
    member = MembershipFactory(
        merchant=merchant,
        email=f"{marker.lower()}-member@example.com",
        member_id=f"{marker}-CARD",
        name=f"{marker} Member",
    )
    award_stamps(member, 60, store=store, notify=True)  # a level change and an email
    deduct_stamps(member, 3)
    reward = RewardFactory(merchant=merchant, name=f"{marker} reward", stamps_to_redeem=5)
    reward.stores.add(store)
    now = timezone.now()
    redemption_create(
        merchant=merchant,
        customer=member.email,
        store_id=store.pk,
        reward_id=reward.pk,
        now=now,
        actor=SYSTEM,
    )
    transaction_create(
        merchant=merchant,
        purchase=Purchase(
            store=store.pk,
            invoice_number=f"{marker}-INV",
            total_value=Decimal(50000),
            number_of_people=1,
            created=now,
            user=member.email,
        ),
        now=now,
        actor=SYSTEM,
    )
    api_token_create(merchant=merchant, name=f"{marker} till")
    IdempotentResponse.objects.create(
        merchant=merchant,
        key=f"{marker}-key",
        fingerprint="0" * 64,
        status_code=200,
        body=b"{}",
        created_at=now,
    )
    staff_create(
        merchant=merchant,
        username=f"{marker.lower()}-clerk",
        password=PASSWORD,
        role=Role.CASHIER,
        stores=[store],
    )
    return Shop(merchant, store, other_store, member, reward)


def staff_client(shop: Shop, role: Role, *, stores: list[Store] | None = None) -> Client:
    """A logged-in client for a new staff user of `shop`'s merchant; a cashier works at the
    shop's first store unless told otherwise."""
    username = f"{role}-{shop.merchant.pk}-{StaffProfile.objects.count()}"
    if stores is None:
        stores = [shop.store] if role == Role.CASHIER else []
    profile = staff_create(
        merchant=shop.merchant, username=username, password=PASSWORD, role=role, stores=stores
    )
    client = Client()
    client.force_login(profile.user)
    client.raise_request_exception = False
    return client


def operator_client() -> Client:
    user = get_user_model().objects.create_superuser("operator", "op@example.com", PASSWORD)
    client = Client()
    client.force_login(user)
    client.raise_request_exception = False
    return client
