"""`user` names a member by email, Member ID, mobile number or numeric id, within the key's
merchant (../shared/reference: every endpoint's `user`; activities take e-mail or mobile)."""

import pytest

from loyalty.models import Membership
from tests.factories import MembershipFactory, award_stamps

READS = [
    "/api/memberships/status",
    "/api/v2/memberships/details",
    "/api/v2/expiration-journals/",
    "/api/v3/activities/",
]
STATUS = READS[0]


def with_phone(member: Membership, phone: str) -> Membership:
    Membership.objects.filter(pk=member.pk).update(phone=phone)
    return member


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("sent", ["+628555756061", "08555756061"])
def test_every_read_finds_a_member_by_mobile_number_in_either_form(tenant, path, sent):
    with_phone(tenant.member, "+628555756061")
    award_stamps(tenant.member, 3, store=tenant.store)

    response = tenant.client.get(path, {"user": sent})

    assert response.status_code == 200, response.content
    status = tenant.client.get(STATUS, {"user": sent}).json()
    assert status["id"] == tenant.member.pk


def test_a_local_number_on_file_is_found_by_its_international_form(tenant):
    with_phone(tenant.member, "08555756061")

    response = tenant.client.get(STATUS, {"user": "+628555756061"})

    assert response.json()["id"] == tenant.member.pk


def test_stamps_are_awarded_to_the_member_with_that_mobile_number(tenant):
    with_phone(tenant.member, "+628555756061")

    response = tenant.post(
        "/api/stamps/add",
        {"user": "08555756061", "store": tenant.store.pk, "number_of_stamps": 4},
    )

    assert response.status_code == 200
    assert Membership.objects.get(pk=tenant.member.pk).stamps == 4


def test_a_number_two_members_share_finds_neither(tenant):
    with_phone(tenant.member, "+628555756061")
    with_phone(MembershipFactory(merchant=tenant.merchant), "08555756061")

    response = tenant.client.get(STATUS, {"user": "+628555756061"})

    assert response.status_code == 400
    assert response.json()["errors"] == [{"user": "User not found"}]


def test_another_merchants_member_is_not_found_by_their_number(tenant, other_tenant):
    with_phone(other_tenant.member, "+628555756061")

    response = tenant.client.get(STATUS, {"user": "+628555756061"})

    assert response.status_code == 400


def test_a_member_id_wins_over_a_mobile_number(tenant):
    with_phone(tenant.member, "+628555756061")
    card_holder = MembershipFactory(merchant=tenant.merchant, member_id="08555756061")

    response = tenant.client.get(STATUS, {"user": "08555756061"})

    assert response.json()["id"] == card_holder.pk


def test_a_number_nobody_has_falls_back_to_the_numeric_id(tenant):
    response = tenant.client.get(STATUS, {"user": f"0{tenant.member.pk}"})

    assert response.json()["id"] == tenant.member.pk
