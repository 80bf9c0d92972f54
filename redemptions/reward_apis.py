from typing import Any

from django.utils import timezone
from rest_framework import serializers

from core.api import MerchantQuery, StampsReadView, UserField, id_field, with_alias
from core.schema import Body, stamps_schema
from loyalty.ledger import merchant_date
from loyalty.members import membership_find
from loyalty.models import Membership
from loyalty.selectors import membership_spendable_stamps
from loyalty.services import store_get
from redemptions.models import Reward
from redemptions.selectors import Standing, rewards_offered

PRODUCT = 1  # the Stamps reward type "Product"; the only kind of reward this server has


class RewardBody(Body):
    id = serializers.IntegerField()
    name = serializers.CharField()
    stamps_to_redeem = serializers.IntegerField()
    membership = serializers.CharField(
        allow_null=True, help_text="The minimum level's name; null when any level may redeem."
    )
    redeemable = serializers.BooleanField(
        required=False, help_text="Whether `user` could redeem it at `store` now; only with `user`."
    )
    is_visible = serializers.BooleanField()
    code = serializers.CharField(allow_blank=True)
    type = serializers.IntegerField(help_text="1, Product: the only kind of reward here.")
    description = serializers.CharField(allow_blank=True)
    image_url = serializers.CharField(allow_blank=True)
    extra_data = serializers.DictField(help_text="Always empty.")


def reward_body(reward: Reward, *, redeemable: bool | None = None) -> dict[str, Any]:
    minimum = reward.minimum_level
    shown_to_member = {} if redeemable is None else {"redeemable": redeemable}
    return {
        "id": reward.pk,
        "name": reward.name,
        "stamps_to_redeem": reward.stamps_to_redeem,
        "membership": minimum.name if minimum else None,
        **shown_to_member,
        "is_visible": reward.is_visible,
        "code": reward.code,
        "type": PRODUCT,
        "description": reward.description,
        "image_url": reward.image_url,
        "extra_data": {},
    }


class RewardsCustomer(Body):
    id = serializers.IntegerField()
    stamps_remaining = serializers.IntegerField(
        help_text="Spendable: lots past their date left out."
    )
    status = serializers.CharField(help_text="The member's level, e.g. Blue.")


@stamps_schema("The rewards on offer, and which a member can redeem")
class RewardsApi(StampsReadView):
    """GET /api/rewards/: the merchant's active rewards inside their window, cheapest first.
    With `user`, each says whether that member could redeem it at `store` now (enough
    unexpired stamps, level reached, offered at the store, in stock, member not blocked),
    and `customer` is added. `merchant` is checked as for every GET endpoint."""

    class InputSerializer(MerchantQuery):
        store = id_field(required=False, help_text="Required, as `store` or `store_id`.")
        store_id = id_field(
            required=False, help_text="`store`, as the Stamps Python client sends it."
        )
        user = UserField(required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            return with_alias(attrs, "store", "store_id")

    class OutputSerializer(Body):
        rewards = RewardBody(many=True)
        customer = RewardsCustomer(required=False, help_text="Only with `user`.")

    def read(self, query: dict[str, Any]) -> dict[str, Any]:
        store = store_get(merchant=self.merchant, store_id=query["store"])
        now = timezone.now()
        if "user" not in query:
            rewards = rewards_offered(merchant=self.merchant, now=now)
            return {"rewards": [reward_body(reward) for reward in rewards]}
        membership = membership_find(merchant=self.merchant, user=query["user"])
        spendable = membership_spendable_stamps(membership, today=merchant_date(self.merchant, now))
        standing = Standing(membership=membership, spendable_stamps=spendable, store=store)
        rewards = rewards_offered(merchant=self.merchant, now=now, standing=standing)
        return {
            "rewards": [
                reward_body(reward, redeemable=reward.refusal is None) for reward in rewards
            ],
            "customer": customer_body(membership, spendable),
        }


def customer_body(membership: Membership, spendable: int) -> dict[str, Any]:
    return {"id": membership.pk, "stamps_remaining": spendable, "status": membership.level.name}
