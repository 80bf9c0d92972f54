"""Staff accounts: a Django user, one merchant, one role (a group of the same name)."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction

from backoffice.models import Role, StaffProfile
from loyalty.models import Merchant, Store


def staff_groups_sync(*, profile: StaffProfile) -> None:
    """The user is in their role's group and no other, and can log in to the admin."""
    user = profile.user
    user.groups.set([Group.objects.get(name=profile.role)])
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


@transaction.atomic
def staff_create(
    *,
    merchant: Merchant,
    username: str,
    password: str,
    role: Role | str,
    stores: Iterable[Store] = (),
) -> StaffProfile:
    user = get_user_model().objects.create_user(username=username, password=password)
    profile = StaffProfile.objects.create(user=user, merchant=merchant, role=role)
    profile.stores.set(stores)
    staff_groups_sync(profile=profile)
    return profile


@transaction.atomic
def staff_password_reset(*, user: AbstractBaseUser, password: str) -> None:
    user.set_password(password)
    user.is_active = True
    user.save(update_fields=["password", "is_active"])


@transaction.atomic
def staff_remove(*, profile: StaffProfile) -> None:
    """The user can no longer log in; kept, as their adjustments name them."""
    user = profile.user
    user.groups.clear()
    user.is_active = False
    user.is_staff = False
    user.save(update_fields=["is_active", "is_staff"])
    profile.delete()
