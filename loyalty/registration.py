"""Registering a customer from a till: `POST /api/memberships/register`."""

import secrets
from dataclasses import dataclass
from datetime import date

from django.db import transaction

from core.errors import DomainError
from loyalty.models import Gender, Membership, Merchant, RegistrationMethod
from loyalty.services import MemberExists, membership_create, store_get

ISSUED_MEMBER_ID_DIGITS = 12


class BirthdayInFuture(DomainError):
    code = "invalid"
    message = "Birthday cannot be in the future"
    field = "birthday"


@dataclass(frozen=True)
class Registration:
    name: str
    email: str
    birthday: date
    gender: Gender
    store: int
    member_id: str | None = None
    phone: str = ""
    address: str = ""


def membership_register(
    *, merchant: Merchant, registration: Registration, today: date
) -> Membership:
    """Creates the member, issuing a Member ID when none is given. A duplicate email or
    Member ID within the merchant is refused with MemberExists."""
    store_get(merchant=merchant, store_id=registration.store)
    if registration.birthday > today:
        raise BirthdayInFuture()
    with transaction.atomic():
        membership = membership_create_with_member_id(merchant=merchant, registration=registration)
        membership.birthday = registration.birthday
        membership.gender = registration.gender
        membership.address = registration.address
        membership.registration_method = RegistrationMethod.API
        membership.save(update_fields=["birthday", "gender", "address", "registration_method"])
    return membership


def membership_create_with_member_id(
    *, merchant: Merchant, registration: Registration
) -> Membership:
    def create(member_id: str) -> Membership:
        return membership_create(
            merchant=merchant,
            email=registration.email,
            member_id=member_id,
            name=registration.name,
            phone=registration.phone,
        )

    if registration.member_id:
        return create(registration.member_id)
    for _ in range(5):
        try:
            return create(member_id_issue())
        except MemberExists as taken:
            if taken.field != "member_id":
                raise
    raise RuntimeError("could not issue a free Member ID")


def member_id_issue() -> str:
    """A random card number. Twelve digits keep it clear of the numeric ids `user` also
    accepts, which a Member ID would otherwise shadow; a taken one is drawn again."""
    low = 10 ** (ISSUED_MEMBER_ID_DIGITS - 1)
    return str(low + secrets.randbelow(9 * low))
