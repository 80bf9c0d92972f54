"""A member's page actions: award, deduct and redeem, each through the service the API calls,
made by the staff user (recorded on the ledger's rows) with a reason."""

from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from backoffice.scoping import cashier_store_ids, scoped
from loyalty import services
from loyalty.ledger import Actor, merchant_date
from loyalty.models import Membership, Store
from redemptions.models import Reward
from redemptions.services import redemption_create


def adjustable_stores(request: HttpRequest, member: Membership) -> QuerySet[Store]:
    """The member's merchant's active stores; a cashier's own only."""
    stores = scoped(Store.objects.filter(merchant=member.merchant_id, is_active=True), request)
    limited = cashier_store_ids(request)
    return stores if limited is None else stores.filter(pk__in=limited)


class MemberActionForm(forms.Form):
    verb = ""

    def __init__(self, *args: Any, request: HttpRequest, member: Membership, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.request, self.member = request, member
        if "store" in self.fields:
            self.fields["store"].queryset = adjustable_stores(request, member)  # type: ignore[attr-defined]

    @property
    def actor(self) -> Actor:
        return Actor(staff_id=self.request.user.pk)

    def perform(self) -> str:
        """Calls the service; returns the confirmation. A refusal raises a DomainError."""
        raise NotImplementedError


class AwardForm(MemberActionForm):
    verb = "Award stamps"
    store = forms.ModelChoiceField(queryset=Store.objects.none(), empty_label=None)
    number_of_stamps = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    expiration_date = forms.DateField(
        required=False, help_text="Empty: the merchant's validity days from today, as the API."
    )
    reason = forms.CharField(max_length=255)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["expiration_date"].initial = self.default_expiration()

    def default_expiration(self) -> date:
        merchant = self.member.merchant
        return services.award_default_expiration(merchant, merchant_date(merchant, timezone.now()))

    def perform(self) -> str:
        data = self.cleaned_data
        awarded = services.award_create(
            merchant=self.member.merchant,
            request=services.AwardRequest(
                user=None,
                store=data["store"].pk,
                number_of_stamps=data["number_of_stamps"],
                notes=data["reason"],
                expiration_date=data["expiration_date"],
                require_email_notification=False,
            ),
            now=timezone.now(),
            actor=self.actor,
            membership_id=self.member.pk,
        )
        return f"Awarded {awarded.number_of_stamps} stamps; balance {awarded.member.stamps}."


class DeductForm(MemberActionForm):
    verb = "Deduct stamps"
    stamps = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    reason = forms.CharField(max_length=255)

    def perform(self) -> str:
        deducted = services.stamps_deduct(
            merchant=self.member.merchant,
            user=None,
            stamps=self.cleaned_data["stamps"],
            notes=self.cleaned_data["reason"],
            now=timezone.now(),
            actor=self.actor,
            membership_id=self.member.pk,
        )
        return f"Deducted {deducted.stamps} stamps; balance {deducted.member.stamps}."


class RedeemForm(MemberActionForm):
    verb = "Redeem a reward"
    store = forms.ModelChoiceField(queryset=Store.objects.none(), empty_label=None)
    reward = forms.ModelChoiceField(queryset=Reward.objects.none(), empty_label=None)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        rewards = Reward.objects.filter(merchant=self.member.merchant_id, is_active=True)
        self.fields["reward"].queryset = scoped(rewards.order_by("stamps_to_redeem"), self.request)  # type: ignore[attr-defined]

    def perform(self) -> str:
        redeemed = redemption_create(
            merchant=self.member.merchant,
            customer=None,
            store_id=self.cleaned_data["store"].pk,
            reward_id=self.cleaned_data["reward"].pk,
            now=timezone.now(),
            actor=self.actor,
            membership_id=self.member.pk,
        )
        return (
            f"Redeemed {redeemed.reward_name} for {redeemed.stamps_used} stamps; "
            f"balance {redeemed.member.stamps}."
        )


MEMBER_ACTIONS: dict[str, type[MemberActionForm]] = {
    "award": AwardForm,
    "deduct": DeductForm,
    "redeem": RedeemForm,
}
