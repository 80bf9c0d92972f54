"""Demo and benchmark data: one merchant with stores, levels, members, rewards and a key."""

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.text import slugify

from backoffice.models import Role, StaffProfile
from backoffice.staff import staff_create, staff_groups_sync, staff_password_reset
from loyalty.ledger import SYSTEM
from loyalty.models import ApiToken, Gender, Level, MaritalStatus, Membership, Merchant, Store
from loyalty.services import AwardRequest, award_create, membership_create
from loyalty.tokens import api_token_create, api_token_revoke
from redemptions.models import Reward

LEVELS = [("Blue", 100, 0), ("Silver", 200, 50), ("Gold", 300, 150)]
MEMBERS = [
    ("Alice Tan", "alice@example.com"),
    ("Budi Santoso", "budi@example.com"),
    ("Citra Dewi", "citra@example.com"),
]
# A whole profile, so the demo's reads show every documented field with a value.
DEMO_PROFILES = [
    {"phone": "+6281200000001", "birthday": date(1990, 5, 17), "gender": Gender.FEMALE},
    {"phone": "+6281200000002", "birthday": date(1985, 1, 2), "gender": Gender.MALE},
    {"phone": "+6281200000003", "birthday": date(1995, 9, 30), "gender": Gender.FEMALE},
]
REWARDS = [
    ("Free Coffee", 10, None),
    ("Free Pastry", 15, None),
    ("Coffee Beans 250g", 60, "Silver"),
]
STARTING_STAMPS = 30
BULK_BATCH = 5000


@dataclass
class DemoData:
    merchant: Merchant
    stores: list[Store]
    token: str
    rewards: list[Reward]
    members: list[dict[str, Any]] = field(default_factory=list)
    staff: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "merchant_id": self.merchant.pk,
            "store_ids": [store.pk for store in self.stores],
            "token": self.token,
            "members": self.members,
            "staff": self.staff,
            "rewards": [
                {"id": r.pk, "name": r.name, "stamps_required": r.stamps_to_redeem}
                for r in self.rewards
            ],
        }


def demo_seed(*, name: str, members: int, now: datetime) -> DemoData:
    with transaction.atomic():
        merchant, _ = Merchant.objects.get_or_create(name=name)
        levels = {
            level_name: Level.objects.get_or_create(
                merchant=merchant,
                name=level_name,
                defaults={"number": number, "minimum_qualifying_stamps": minimum},
            )[0]
            for level_name, number, minimum in LEVELS
        }
        stores = [
            Store.objects.get_or_create(merchant=merchant, name=f"{name} {place}")[0]
            for place in ("Central", "Airport")
        ]
        rewards = [reward_ensure(merchant, levels, *reward) for reward in REWARDS]
        demo_members_ensure(merchant, stores[0], now=now)
        bulk_members_ensure(merchant, levels["Blue"], total=members)
        token = demo_token_replace(merchant)
        staff = demo_staff_ensure(merchant, stores[0])
    data = DemoData(merchant=merchant, stores=stores, token=token, rewards=rewards, staff=staff)
    data.members = list(
        Membership.objects.filter(merchant=merchant)
        .order_by("pk")
        .values("id", "email", "member_id")[:members]
    )
    return data


DEMO_TOKEN_NAME = "seed_demo"


def demo_token_replace(merchant: Merchant) -> str:
    """A new demo key; the one an earlier run printed is revoked, so keys do not pile up."""
    for old in ApiToken.objects.filter(
        merchant=merchant, name=DEMO_TOKEN_NAME, revoked_at__isnull=True
    ):
        api_token_revoke(token=old)
    return api_token_create(merchant=merchant, name=DEMO_TOKEN_NAME).key


def demo_staff_ensure(merchant: Merchant, store: Store) -> list[dict[str, str]]:
    """One login per role for the merchant, each with a fresh password (printed once)."""
    logins = []
    for role in Role:
        username = f"{slugify(merchant.name)}-{role}"
        password = secrets.token_urlsafe(12)
        profile = StaffProfile.objects.filter(user__username=username).first()
        if profile is None:
            profile = staff_create(
                merchant=merchant, username=username, password=password, role=role
            )
        else:
            profile.merchant, profile.role = merchant, role
            profile.save(update_fields=["merchant", "role"])
            staff_password_reset(user=profile.user, password=password)
            staff_groups_sync(profile=profile)
        profile.stores.set([store] if role == Role.CASHIER else [])
        logins.append({"username": username, "password": password, "role": str(role)})
    return logins


def reward_ensure(
    merchant: Merchant, levels: dict[str, Level], name: str, cost: int, level_name: str | None
) -> Reward:
    reward, _ = Reward.objects.get_or_create(
        merchant=merchant,
        name=name,
        defaults={
            "stamps_to_redeem": cost,
            "minimum_level": levels[level_name] if level_name else None,
        },
    )
    return reward


def demo_members_ensure(merchant: Merchant, store: Store, *, now: datetime) -> None:
    for number, (full_name, email) in enumerate(MEMBERS, start=1):
        if Membership.objects.filter(merchant=merchant, email=email).exists():
            continue
        membership = membership_create(
            merchant=merchant, email=email, member_id=f"DEMO-{number:04d}", name=full_name
        )
        profile = DEMO_PROFILES[number - 1] | {
            "address": "Jl. Sudirman 1, Jakarta",
            "postal_code": "10220",
            "marital_status": MaritalStatus.SINGLE,
            "religion": 1,
        }
        Membership.objects.filter(pk=membership.pk).update(**profile)
        award_create(
            merchant=merchant,
            request=AwardRequest(
                user=email,
                store=store.pk,
                number_of_stamps=STARTING_STAMPS,
                notes="welcome stamps",
                require_email_notification=False,
            ),
            now=now,
            actor=SYSTEM,
        )


def bulk_members_ensure(merchant: Merchant, level: Level, *, total: int) -> None:
    """Benchmark-sized member lists, made in batches without per-row services (no stamps)."""
    existing = Membership.objects.filter(merchant=merchant).count()
    for start in range(existing, total, BULK_BATCH):
        batch = (
            Membership(
                merchant=merchant,
                level=level,
                email=f"member{n}@example.com",
                member_id=f"M{n:08d}",
                referral_code=f"R{n:08d}",
            )
            for n in range(start, min(start + BULK_BATCH, total))
        )
        # A statement holds at most 65,535 parameters: a thousand members' columns fit.
        Membership.objects.bulk_create(batch, batch_size=1000)


def admin_user_ensure() -> str:
    """The `admin` superuser (the operator), with a fresh password each run: every run
    prints a login that works."""
    users = get_user_model().objects
    password = secrets.token_urlsafe(12)
    user = users.filter(username="admin").first()
    if user is None:
        users.create_superuser("admin", "admin@localhost", password)
    else:
        user.set_password(password)
        user.save(update_fields=["password"])
    return password
