"""The back office, driven through the Django test client as a logged-in superuser."""

import datetime
import hashlib
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from backoffice.models import Role
from backoffice.staff import staff_create
from core.idempotency.models import IdempotentResponse
from loyalty.checks import ledger_mismatches
from loyalty.ledger import SYSTEM
from loyalty.models import (
    ApiToken,
    Award,
    AwardStatus,
    DeductionPurpose,
    EmailOutbox,
    EntryKind,
    LedgerEntry,
    LevelChange,
    Membership,
    StampsDeduction,
)
from loyalty.tokens import api_token_create
from redemptions.models import Redemption
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

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
KEY_MESSAGE = re.compile(r"New API key \(shown only this once\): ([0-9a-f]{40})")


@pytest.fixture
def back_office() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    client.force_login(user)
    client.raise_request_exception = False  # a server error is asserted on, not raised
    return client


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def populate() -> None:
    """One of every kind of row, so every changelist and change page has something to show."""
    merchant = MerchantFactory()
    store = StoreFactory(merchant=merchant)
    member = MembershipFactory(merchant=merchant)
    award_stamps(member, 60, store=store, notify=True)  # reaches Silver: a level change
    deduct_stamps(member, 3)
    reward = RewardFactory(merchant=merchant, stamps_to_redeem=5)
    reward.stores.add(store)
    redemption_create(
        merchant=merchant,
        customer=member.email,
        store_id=store.pk,
        reward_id=reward.pk,
        now=timezone.now(),
        actor=SYSTEM,
    )
    transaction_create(
        merchant=merchant,
        purchase=Purchase(
            store=store.pk,
            invoice_number="INV-1",
            total_value=Decimal(50000),
            number_of_people=1,
            created=timezone.now(),
            user=member.email,
        ),
        now=timezone.now(),
        actor=SYSTEM,
    )
    api_token_create(merchant=merchant, name="till")
    Group.objects.create(name="cashiers")
    staff_create(merchant=merchant, username="clerk", password=PASSWORD, role=Role.CASHIER)
    IdempotentResponse.objects.create(
        merchant=merchant,
        key="k",
        fingerprint="0" * 64,
        status_code=200,
        body=b"{}",
        created_at=timezone.now(),
    )


def messages_in(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def ledger_state(member) -> tuple:
    return (
        Membership.objects.get(pk=member.pk).stamps,
        LedgerEntry.objects.count(),
        Award.objects.count(),
        StampsDeduction.objects.count(),
    )


REGISTERED = sorted(
    (
        (model, admin.site.get_model_admin(model))
        for model in apps.get_models()
        if admin.site.is_registered(model)
    ),
    key=lambda item: item[0]._meta.label,
)
every_model = pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=[model._meta.label for model, _ in REGISTERED]
)


class TestEveryPageLoads:
    def test_the_index_lists_the_loyalty_models(self, back_office):
        response = back_office.get(reverse("admin:index"))

        assert response.status_code == 200
        for model in (Membership, Award, StampsDeduction, ApiToken, Redemption):
            assert admin_url(model, "changelist") in response.content.decode()

    @every_model
    def test_every_changelist_loads(self, back_office, model, model_admin):
        populate()

        response = back_office.get(admin_url(model, "changelist"))

        assert response.status_code == 200

    @every_model
    def test_every_changelist_search_and_filter_loads(self, back_office, model, model_admin):
        populate()

        response = back_office.get(admin_url(model, "changelist"), {"q": "example"})

        assert response.status_code == 200

    @every_model
    def test_every_add_page_loads_where_adding_is_allowed(self, back_office, model, model_admin):
        populate()
        request = back_office.get(reverse("admin:index")).wsgi_request
        can_add = model_admin.has_add_permission(request)

        response = back_office.get(admin_url(model, "add"))

        assert response.status_code == (200 if can_add else 403)

    @every_model
    def test_every_change_page_loads(self, back_office, model, model_admin):
        populate()
        instance = model.objects.order_by("pk").first()
        assert instance is not None, f"populate() made no {model._meta.label}"

        response = back_office.get(admin_url(model, "change", instance.pk))

        assert response.status_code == 200

    @pytest.mark.parametrize(
        "model", [Award, StampsDeduction, LedgerEntry, LevelChange, Redemption]
    )
    def test_ledger_records_cannot_be_deleted(self, back_office, model):
        populate()
        instance = model.objects.order_by("pk").first()

        response = back_office.post(admin_url(model, "delete", instance.pk), {"post": "yes"})

        assert response.status_code == 403
        assert model.objects.filter(pk=instance.pk).exists()

    def test_an_anonymous_visitor_is_sent_to_the_login_page(self, client):
        response = client.get(admin_url(Membership, "changelist"))

        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]


class TestApiTokenAdmin:
    def test_creating_a_token_shows_the_key_once_and_stores_only_its_digest(self, back_office):
        merchant = MerchantFactory()

        response = back_office.post(
            admin_url(ApiToken, "add"), {"merchant": merchant.pk, "name": "front till"}, follow=True
        )

        assert response.status_code == 200
        keys = [m for m in map(KEY_MESSAGE.search, messages_in(response)) if m]
        assert len(keys) == 1
        key = keys[0].group(1)
        stored = ApiToken.objects.get(merchant=merchant)
        assert stored.name == "front till"
        assert stored.key_digest == hashlib.sha256(key.encode()).hexdigest()
        assert stored.key_prefix == key[:8]
        assert key not in (stored.key_digest, stored.key_prefix, stored.name)
        assert not LogEntry.objects.filter(object_repr__contains=key).exists()
        assert not LogEntry.objects.filter(change_message__contains=key).exists()

    def test_the_key_is_not_shown_again(self, back_office):
        merchant = MerchantFactory()
        created = back_office.post(
            admin_url(ApiToken, "add"), {"merchant": merchant.pk, "name": "till"}, follow=True
        )
        key = KEY_MESSAGE.search(" ".join(messages_in(created))).group(1)
        stored = ApiToken.objects.get(merchant=merchant)

        pages = [
            back_office.get(admin_url(ApiToken, "changelist")),
            back_office.get(admin_url(ApiToken, "change", stored.pk)),
        ]

        for page in pages:
            assert page.status_code == 200
            assert key not in page.content.decode()

    def test_creates_exactly_one_token_that_works_against_the_api(self, back_office):
        merchant = MerchantFactory()
        member = MembershipFactory(merchant=merchant)
        award_stamps(member, 5)

        response = back_office.post(
            admin_url(ApiToken, "add"), {"merchant": merchant.pk, "name": "till"}, follow=True
        )
        key = KEY_MESSAGE.search(" ".join(messages_in(response))).group(1)

        assert ApiToken.objects.filter(merchant=merchant).count() == 1
        api = token(key).post(
            "/api/memberships/deduct-stamps",
            {"user": member.email, "stamps": 1, "notes": "n"},
            format="json",
        )
        assert api.status_code == 200

    def test_renaming_a_token_keeps_its_key(self, back_office):
        merchant = MerchantFactory()
        issued = api_token_create(merchant=merchant, name="old name")

        back_office.post(
            admin_url(ApiToken, "change", issued.token.pk),
            {"merchant": merchant.pk, "name": "new name"},
        )

        stored = ApiToken.objects.get(pk=issued.token.pk)
        assert stored.name == "new name"
        assert stored.key_digest == issued.token.key_digest

    def test_the_revoke_action_revokes_the_selected_tokens_only(self, back_office):
        merchant = MerchantFactory()
        member = MembershipFactory(merchant=merchant)
        award_stamps(member, 5)
        revoked = api_token_create(merchant=merchant, name="lost till")
        kept = api_token_create(merchant=merchant, name="front till")

        response = back_office.post(
            admin_url(ApiToken, "changelist"),
            {"action": "revoke", "_selected_action": [revoked.token.pk]},
            follow=True,
        )

        assert response.status_code == 200
        assert "Revoked 1 token(s)." in messages_in(response)
        assert ApiToken.objects.get(pk=revoked.token.pk).revoked_at is not None
        assert ApiToken.objects.get(pk=kept.token.pk).revoked_at is None
        body = {"user": member.email, "stamps": 1, "notes": "n"}
        refused = token(revoked.key).post("/api/memberships/deduct-stamps", body, format="json")
        allowed = token(kept.key).post("/api/memberships/deduct-stamps", body, format="json")
        assert (refused.status_code, allowed.status_code) == (401, 200)

    def test_revoking_twice_keeps_the_first_revocation_time(self, back_office):
        issued = api_token_create(merchant=MerchantFactory(), name="till")
        select = {"action": "revoke", "_selected_action": [issued.token.pk]}
        back_office.post(admin_url(ApiToken, "changelist"), select)
        first = ApiToken.objects.get(pk=issued.token.pk).revoked_at

        back_office.post(admin_url(ApiToken, "changelist"), select)

        assert ApiToken.objects.get(pk=issued.token.pk).revoked_at == first


def award_form(member, store, **overrides) -> dict:
    form = {
        "membership": member.pk,
        "store": store.pk,
        "number_of_stamps": 7,
        "expiration_date": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
        "notes": "goodwill",
    }
    return form | overrides


class TestAwardAdmin:
    def test_adding_an_award_goes_through_the_award_service(self, back_office):
        member = MembershipFactory()
        store = StoreFactory(merchant=member.merchant)

        response = back_office.post(admin_url(Award, "add"), award_form(member, store))

        assert response.status_code == 302
        award = Award.objects.get(membership=member)
        assert (award.number_of_stamps, award.stamps_remaining) == (7, 7)
        assert award.notes == "goodwill"
        assert award.status == AwardStatus.ACTIVE
        member = Membership.objects.get(pk=member.pk)
        assert (member.stamps, member.qualifying_stamps) == (7, 7)
        assert list(LedgerEntry.objects.values_list("award", "kind", "delta")) == [
            (award.pk, EntryKind.AWARD, 7)
        ]
        assert list(ledger_mismatches()) == []

    def test_an_award_from_the_admin_can_raise_the_level(self, back_office):
        member = MembershipFactory()
        store = StoreFactory(merchant=member.merchant)

        back_office.post(admin_url(Award, "add"), award_form(member, store, number_of_stamps=50))

        assert Membership.objects.get(pk=member.pk).level.name == "Silver"
        assert LevelChange.objects.get(membership=member).to_level.name == "Silver"

    def test_an_award_from_the_admin_queues_the_email_when_asked(self, back_office):
        member = MembershipFactory()
        store = StoreFactory(merchant=member.merchant)

        back_office.post(
            admin_url(Award, "add"), award_form(member, store, require_email_notification="on")
        )
        back_office.post(admin_url(Award, "add"), award_form(member, store))

        assert EmailOutbox.objects.filter(membership=member).count() == 1

    def test_the_award_appears_on_the_changelist_after_it_is_added(self, back_office):
        member = MembershipFactory()
        store = StoreFactory(merchant=member.merchant)

        response = back_office.post(admin_url(Award, "add"), award_form(member, store), follow=True)

        award = Award.objects.get(membership=member)
        assert response.status_code == 200
        assert admin_url(Award, "change", award.pk) in response.content.decode()

    @pytest.mark.parametrize(
        "refusal",
        ["another merchant's store", "blocked member", "too many stamps", "past expiry"],
    )
    def test_an_award_the_service_refuses_is_reported_not_a_server_error(
        self, back_office, refusal
    ):
        member = MembershipFactory()
        store = StoreFactory(merchant=member.merchant)
        form = award_form(member, store)
        if refusal == "another merchant's store":
            form["store"] = StoreFactory().pk
        elif refusal == "blocked member":
            Membership.objects.filter(pk=member.pk).update(is_blocked=True)
        elif refusal == "too many stamps":
            form["number_of_stamps"] = member.merchant.max_stamps_per_award + 1
        else:
            form["expiration_date"] = "2000-01-01"

        response = back_office.post(admin_url(Award, "add"), form, follow=True)

        assert response.status_code < 500
        assert not Award.objects.exists()
        assert not LedgerEntry.objects.exists()
        assert Membership.objects.get(pk=member.pk).stamps == 0

    def test_awards_cannot_be_edited(self, back_office):
        member = MembershipFactory()
        award = award_stamps(member, 5)

        response = back_office.post(
            admin_url(Award, "change", award.pk),
            award_form(member, award.store, number_of_stamps=500),
        )

        assert response.status_code == 403
        assert Award.objects.get(pk=award.pk).number_of_stamps == 5
        assert Membership.objects.get(pk=member.pk).stamps == 5

    def test_an_awards_page_lists_its_ledger_entries(self, back_office):
        member = MembershipFactory()
        award = award_stamps(member, 5)
        deduct_stamps(member, 2)

        response = back_office.get(admin_url(Award, "change", award.pk))

        assert response.status_code == 200
        (entries,) = response.context["inline_admin_formsets"]
        assert sorted(row.original.delta for row in entries) == [-2, 5]

    def test_the_cancel_action_cancels_through_the_service(self, back_office):
        member = MembershipFactory()
        kept = award_stamps(member, 4)
        canceled = award_stamps(member, 6)

        back_office.post(
            admin_url(Award, "changelist"),
            {"action": "cancel_awards", "_selected_action": [canceled.pk], "reason": "till error"},
        )

        assert Award.objects.get(pk=canceled.pk).status == AwardStatus.CANCELED
        assert Award.objects.get(pk=kept.pk).status == AwardStatus.ACTIVE
        member = Membership.objects.get(pk=member.pk)
        assert (member.stamps, member.qualifying_stamps) == (4, 4)
        assert LedgerEntry.objects.filter(kind=EntryKind.AWARD_CANCEL, award=canceled).exists()
        assert list(ledger_mismatches()) == []

    def test_the_cancel_action_reports_a_refusal_and_changes_nothing(self, back_office):
        member = MembershipFactory()
        award = award_stamps(member, 6)
        deduct_stamps(member, 5)
        before = ledger_state(member)

        response = back_office.post(
            admin_url(Award, "changelist"),
            {"action": "cancel_awards", "_selected_action": [award.pk], "reason": "till error"},
            follow=True,
        )

        assert any(m.startswith("Refused: ") for m in messages_in(response))
        assert Award.objects.get(pk=award.pk).status == AwardStatus.ACTIVE
        assert ledger_state(member) == before
        assert list(ledger_mismatches()) == []


class TestStampsDeductionAdmin:
    def test_adding_a_deduction_goes_through_the_deduction_service(self, back_office):
        member = MembershipFactory()
        award = award_stamps(member, 10)

        response = back_office.post(
            admin_url(StampsDeduction, "add"),
            {"membership": member.pk, "stamps": 4, "notes": "spilled coffee"},
        )

        assert response.status_code == 302
        deduction = StampsDeduction.objects.get(membership=member)
        assert (deduction.stamps, deduction.notes) == (4, "spilled coffee")
        assert deduction.purpose == DeductionPurpose.DEDUCTION
        assert Membership.objects.get(pk=member.pk).stamps == 6
        assert list(
            LedgerEntry.objects.filter(deduction=deduction).values_list("award", "kind", "delta")
        ) == [(award.pk, EntryKind.SPEND, -4)]
        assert Award.objects.get(pk=award.pk).stamps_remaining == 6
        assert list(ledger_mismatches()) == []

    def test_a_deduction_from_the_admin_never_lowers_the_level(self, back_office):
        member = MembershipFactory()
        award_stamps(member, 60)

        back_office.post(
            admin_url(StampsDeduction, "add"),
            {"membership": member.pk, "stamps": 60, "notes": "n"},
        )

        member = Membership.objects.get(pk=member.pk)
        assert (member.stamps, member.level.name) == (0, "Silver")

    @pytest.mark.parametrize("refusal", ["more than held", "blocked member"])
    def test_a_deduction_the_service_refuses_is_reported_not_a_server_error(
        self, back_office, refusal
    ):
        member = MembershipFactory()
        award_stamps(member, 3)
        stamps = 4 if refusal == "more than held" else 1
        if refusal == "blocked member":
            Membership.objects.filter(pk=member.pk).update(is_blocked=True)
        before = ledger_state(member)

        response = back_office.post(
            admin_url(StampsDeduction, "add"),
            {"membership": member.pk, "stamps": stamps, "notes": "n"},
            follow=True,
        )

        assert response.status_code < 500
        assert ledger_state(member) == before

    def test_a_deduction_form_with_bad_values_is_shown_again_with_errors(self, back_office):
        member = MembershipFactory()
        award_stamps(member, 3)
        before = ledger_state(member)

        response = back_office.post(
            admin_url(StampsDeduction, "add"), {"membership": member.pk, "stamps": 0, "notes": ""}
        )

        assert response.status_code == 200
        assert response.context["adminform"].form.errors
        assert ledger_state(member) == before


NO_INLINE_ROWS = {
    "awards-TOTAL_FORMS": 0,
    "awards-INITIAL_FORMS": 0,
    "entries-TOTAL_FORMS": 0,
    "entries-INITIAL_FORMS": 0,
    "level_changes-TOTAL_FORMS": 0,
    "level_changes-INITIAL_FORMS": 0,
    "deductions-TOTAL_FORMS": 0,
    "deductions-INITIAL_FORMS": 0,
}


class TestMembershipAdmin:
    def test_adding_a_member_goes_through_the_service(self, back_office):
        merchant = MerchantFactory()

        response = back_office.post(
            admin_url(Membership, "add"),
            {
                "merchant": merchant.pk,
                "email": "new.member@example.com",
                "member_id": "CARD-NEW",
                "name": "New Member",
                "phone": "",
                **NO_INLINE_ROWS,
            },
        )

        assert response.status_code == 302
        member = Membership.objects.get(merchant=merchant, email="new.member@example.com")
        assert member.referral_code
        assert member.level.name == "Blue"
        assert member.stamps == 0

    def test_a_members_page_lists_their_level_changes(self, back_office):
        member = MembershipFactory()
        award_stamps(member, 50)

        response = back_office.get(admin_url(Membership, "change", member.pk))

        assert response.status_code == 200
        rows = response.context["inline_admin_formsets"][-1]
        assert [row.original for row in rows] == list(LevelChange.objects.filter(membership=member))

    def test_level_changes_cannot_be_added_or_edited(self, back_office):
        member = MembershipFactory()
        award_stamps(member, 50)
        change = LevelChange.objects.get()

        assert back_office.get(admin_url(LevelChange, "add")).status_code == 403
        response = back_office.post(
            admin_url(LevelChange, "change", change.pk),
            {"kind": 2, "to_level": change.from_level_id},
        )
        assert response.status_code == 403
        assert LevelChange.objects.get().to_level_id == change.to_level_id

    def test_editing_a_member_cannot_change_the_stamp_balance(self, back_office):
        member = MembershipFactory()
        award_stamps(member, 5)

        back_office.post(
            admin_url(Membership, "change", member.pk),
            {
                "email": member.email,
                "member_id": member.member_id,
                "name": "Renamed",
                "phone": "",
                "stamps": 999,
                "qualifying_stamps": 999,
                **NO_INLINE_ROWS,
            },
        )

        member = Membership.objects.get(pk=member.pk)
        assert member.name == "Renamed"
        assert (member.stamps, member.qualifying_stamps) == (5, 5)
        assert list(ledger_mismatches()) == []
