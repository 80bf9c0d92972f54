"""GET /api/v3/activities/: a member's history, newest first."""

from typing import Any

from rest_framework import serializers

from activities.selectors import ACTIVITIES_PER_PAGE, activities_page
from core.api import MerchantQuery, StampsReadView, UserField, id_field
from core.schema import Body, stamps_schema
from loyalty.members import membership_find
from loyalty.models import Channel
from loyalty.selectors import Activity

CHANNEL_NAMES = Channel.labels


class MerchantBrief(Body):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StoreBrief(Body):
    name = serializers.CharField(help_text="The store's short name or code.")
    display_name = serializers.CharField(help_text="The name customers see.")


STATUS_HELP = "1 Created, 2 Canceled."


class ActivityTransaction(Body):
    stamps = serializers.IntegerField(help_text="Stamps it earned.")
    name = serializers.CharField(help_text='"Transaction #<its id>".')
    status = serializers.IntegerField(help_text=STATUS_HELP)
    invoice_number = serializers.CharField()
    channel = serializers.ChoiceField(choices=CHANNEL_NAMES)


class ActivityRedemption(Body):
    stamps = serializers.IntegerField(help_text="Stamps it spent.")
    name = serializers.CharField(help_text="The reward's name.")
    status = serializers.IntegerField(help_text=STATUS_HELP)
    channel = serializers.ChoiceField(choices=CHANNEL_NAMES)


class ActivityAward(Body):
    stamps = serializers.IntegerField()
    name = serializers.CharField(help_text='Its notes, else "Awarded Stamps".')
    status = serializers.IntegerField(help_text=STATUS_HELP)


class ActivityDeduction(Body):
    stamps = serializers.IntegerField(help_text="Stamps taken, a positive number.")
    status = serializers.IntegerField(help_text=STATUS_HELP)
    notes = serializers.CharField(allow_blank=True)


class ActivityBody(Body):
    """One line of history, in the shape the Stamps documents print for its type: 0 a
    purchase (`merchant`, `store`, `transaction`), 1 a redemption (`merchant`, `store`,
    `redemption`), 2 an award (`merchant`, `award`), 5 an upgrade (`stamps`, 0) and 6 a
    downgrade (`notes` names the level), 10 a deduction (`stamps_deduction`), 15 stamps
    expired (`expired_stamps`)."""

    id = serializers.IntegerField(help_text="Unique in the member's history; see older_than.")
    type = serializers.IntegerField(
        help_text="0 transaction, 1 redemption, 2 awarded stamps, "
        "5 level upgrade, 6 level downgrade, 10 deduct stamps, 15 stamps expired."
    )
    created = serializers.IntegerField(help_text="Unix time, in seconds.")
    notes = serializers.CharField(allow_blank=True)
    merchant = MerchantBrief(required=False)
    store = StoreBrief(required=False)
    stamps = serializers.IntegerField(required=False, help_text="On type 5: always 0.")
    transaction = ActivityTransaction(required=False)
    redemption = ActivityRedemption(required=False)
    award = ActivityAward(required=False)
    stamps_deduction = ActivityDeduction(required=False)
    expired_stamps = serializers.IntegerField(required=False)


def activity_body(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "type": int(activity.type),
        "created": int(activity.created_at.timestamp()),
        **activity.body,
    }


@stamps_schema("A member's history, newest first")
class ActivitiesApi(StampsReadView):
    """GET /api/v3/activities/: a member's history, newest first, 20 at a time. For the
    next page, send the `id` of the last activity you got as `older_than`; a page of fewer
    than 20 is the last."""

    class InputSerializer(MerchantQuery):
        user = UserField()
        older_than = id_field(
            required=False, help_text="An activity's id: the activities after it, newest first."
        )

    class OutputSerializer(Body):
        activities = ActivityBody(many=True, help_text=f"At most {ACTIVITIES_PER_PAGE}.")

    def read(self, query: dict[str, Any]) -> dict[str, Any]:
        membership = membership_find(merchant=self.merchant, user=query["user"])
        page = activities_page(membership, older_than=query.get("older_than"))
        return {"activities": [activity_body(activity) for activity in page]}
