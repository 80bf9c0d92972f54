"""GET /api/rewards/: the rewards on offer, in the shape of the Stamps documents."""

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from core.api import (
    BoundedIntegerField,
    MerchantQuery,
    StampsReadView,
    UserField,
    id_field,
    json_number,
    with_alias,
)
from core.errors import ErrorStyle
from core.schema import Body, stamps_schema
from loyalty.ledger import merchant_date
from loyalty.members import membership_find
from loyalty.models import Membership
from loyalty.selectors import membership_spendable_stamps
from loyalty.services import store_get
from redemptions.models import Reward
from redemptions.selectors import RewardPage, Standing, lowest_level_name, rewards_offered

PRODUCT = 1  # the Stamps reward type "Product"; the only kind of reward this server has
CHANNEL_TYPES = (1, 6)  # Mobile app, POS, Kiosk, Web, Android, iOS
MAX_PER_PAGE = 500


class RewardBody(Body):
    stamps_to_redeem = serializers.IntegerField()
    image_url = serializers.CharField(allow_blank=True)
    landscape_url = serializers.CharField(allow_null=True, help_text="Null when there is none.")
    id = serializers.IntegerField()
    membership = serializers.CharField(
        help_text="The lowest level that may redeem it: the merchant's first when any may."
    )
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    price = serializers.FloatField(allow_null=True, help_text="Null when it is not for sale.")
    extra_data = serializers.DictField(help_text="The merchant's own data for tills.")
    merchant_code = serializers.CharField(allow_null=True, help_text="Null when there is none.")
    redeemable = serializers.BooleanField(
        required=False, help_text="Whether `user` could redeem it at `store` now; only with `user`."
    )
    is_visible = serializers.BooleanField()
    terms = serializers.CharField(allow_blank=True)
    code = serializers.CharField(allow_blank=True)
    type = serializers.IntegerField(help_text="1, Product: the only kind of reward here.")


def reward_body(
    reward: Reward, *, lowest_level: str, redeemable: bool | None = None
) -> dict[str, Any]:
    minimum = reward.minimum_level
    shown_to_member = {} if redeemable is None else {"redeemable": redeemable}
    return {
        "stamps_to_redeem": reward.stamps_to_redeem,
        "image_url": reward.image_url,
        "landscape_url": reward.landscape_url or None,
        "id": reward.pk,
        "membership": minimum.name if minimum else lowest_level,
        "name": reward.name,
        "description": reward.description,
        "price": json_number(reward.price),
        "extra_data": reward.extra_data,
        "merchant_code": reward.merchant_code or None,
        **shown_to_member,
        "is_visible": reward.is_visible,
        "terms": reward.terms,
        "code": reward.code,
        "type": PRODUCT,
    }


class RewardsCustomer(Body):
    id = serializers.IntegerField()
    stamps = serializers.IntegerField(help_text="Spendable: lots past their date left out.")
    membership_status = serializers.CharField(help_text="The member's level, e.g. Blue.")
    stamps_remaining = serializers.IntegerField(help_text="`stamps`, under its other name.")
    status = serializers.CharField(help_text="`membership_status`, under its other name.")


@stamps_schema("The rewards on offer, and which a member can redeem")
class RewardsApi(StampsReadView):
    """GET /api/rewards/: the merchant's active rewards inside their window, cheapest first.
    With `user`, each says whether that member could redeem it at `store` now (enough
    unexpired stamps, level reached, offered at the store, in stock, member not blocked),
    and `customer` is added, its stamps and level under both names the Stamps documents
    use. `vouchers` is always empty: this server has no vouchers. `channel`,
    `include_inactive_vouchers` and `last_voucher_id` are accepted and change nothing: no
    reward is limited to a channel, and there are no vouchers. `store` may also be sent as
    `store_id`."""

    error_style = ErrorStyle.LEGACY_LIST

    class InputSerializer(MerchantQuery):
        store = id_field(required=False, help_text="Required, as `store` or `store_id`.")
        store_id = id_field(
            required=False, help_text="`store`, as the Stamps Python client sends it."
        )
        user = UserField(required=False)
        only_redeemable_in_this_store = serializers.BooleanField(
            required=False, help_text="true: only the rewards offered at `store`."
        )
        channel = BoundedIntegerField(
            min_value=CHANNEL_TYPES[0], max_value=CHANNEL_TYPES[1], required=False
        )
        include_inactive_vouchers = serializers.BooleanField(required=False)
        last_voucher_id = id_field(required=False)
        last_reward_id = id_field(
            required=False, help_text="Start after this reward, in the listing's order."
        )
        per_page = BoundedIntegerField(min_value=1, max_value=MAX_PER_PAGE, required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            return with_alias(attrs, "store", "store_id")

    class OutputSerializer(Body):
        rewards = RewardBody(many=True)
        vouchers = serializers.ListField(
            child=serializers.DictField(), help_text="Always empty: no vouchers here."
        )
        customer = RewardsCustomer(required=False, help_text="Only with `user`.")

    def read(self, query: dict[str, Any]) -> dict[str, Any]:
        store = store_get(merchant=self.merchant, store_id=query["store"])
        now = timezone.now()
        page = RewardPage(
            after=query.get("last_reward_id"),
            size=query.get("per_page"),
            store=store if query.get("only_redeemable_in_this_store") else None,
        )
        lowest_level = lowest_level_name(self.merchant)
        if "user" not in query:
            rewards = rewards_offered(merchant=self.merchant, now=now, page=page)
            listed = [reward_body(reward, lowest_level=lowest_level) for reward in rewards]
            return {"rewards": listed, "vouchers": []}
        membership = membership_find(merchant=self.merchant, user=query["user"])
        spendable = membership_spendable_stamps(membership, today=merchant_date(self.merchant, now))
        standing = Standing(membership=membership, spendable_stamps=spendable, store=store)
        rewards = rewards_offered(merchant=self.merchant, now=now, standing=standing, page=page)
        return {
            "rewards": [
                reward_body(reward, lowest_level=lowest_level, redeemable=reward.refusal is None)
                for reward in rewards
            ],
            "vouchers": [],
            "customer": customer_body(membership, spendable),
        }


def customer_body(membership: Membership, spendable: int) -> dict[str, Any]:
    level = membership.level.name
    return {
        "id": membership.pk,
        "stamps": spendable,
        "membership_status": level,
        "stamps_remaining": spendable,
        "status": level,
    }
