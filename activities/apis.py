"""GET /api/v3/activities/: a member's history, newest first."""

from typing import Any

from rest_framework import serializers

from activities.selectors import activities_page
from core.api import MerchantQuery, StampsReadView, UserField, moment
from core.schema import Body, stamps_schema
from loyalty.members import membership_find
from loyalty.selectors import Activity


class StoreBrief(Body):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ActivityAward(Body):
    id = serializers.IntegerField(required=False, help_text="On type 15: the expired lot.")
    stamps = serializers.IntegerField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    status = serializers.IntegerField(required=False)
    status_text = serializers.CharField(required=False)
    expiration_date = serializers.DateField(required=False)


class ActivityDeduction(Body):
    stamps = serializers.IntegerField()
    notes = serializers.CharField(allow_blank=True)
    status = serializers.IntegerField()
    status_text = serializers.CharField()


class ActivityRedemption(Body):
    reward = serializers.CharField(help_text="The reward's name.")
    reward_id = serializers.IntegerField()
    stamps = serializers.IntegerField()
    status = serializers.IntegerField()
    status_text = serializers.CharField()


class ActivityTransaction(Body):
    invoice_number = serializers.CharField()
    value = serializers.FloatField(help_text="The purchase's total value.")
    stamps_earned = serializers.IntegerField()
    status = serializers.IntegerField()
    status_text = serializers.CharField()


class ActivityLevelChange(Body):
    level = serializers.IntegerField(help_text="The level reached, e.g. 200.")
    level_text = serializers.CharField(help_text="Its name, e.g. Silver.")
    previous_level = serializers.IntegerField(help_text="The level left, e.g. 100.")
    previous_level_text = serializers.CharField(help_text="Its name, e.g. Blue.")


class ActivityBody(Body):
    """One line of history. Besides the common keys, each type carries its own: `award` and
    `store` (2), `transaction` and `store` (0), `redemption` and `store` (1), `membership`
    (5 and 6, with `stamps` 0), `stamps_deduction` (10), `expired_stamps` and `award` (15)."""

    id = serializers.IntegerField(help_text="The source row's id, unique within a type.")
    type = serializers.IntegerField(
        help_text="0 transaction, 1 redemption, 2 awarded stamps, "
        "5 level upgrade, 6 level downgrade, 10 deduct stamps, 15 stamps expired."
    )
    type_text = serializers.CharField()
    stamps = serializers.IntegerField(help_text="The amount moved; `type` says which way.")
    created = serializers.DateTimeField(help_text="UTC, to the second.")
    created_timestamp = serializers.IntegerField(help_text="`created` in Unix seconds.")
    award = ActivityAward(required=False)
    store = StoreBrief(required=False)
    stamps_deduction = ActivityDeduction(required=False)
    redemption = ActivityRedemption(required=False)
    transaction = ActivityTransaction(required=False)
    membership = ActivityLevelChange(required=False)
    expired_stamps = serializers.IntegerField(required=False)


def activity_body(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "type": int(activity.type),
        "type_text": activity.type.label,
        "stamps": activity.stamps,
        **moment(activity.created_at),
        **activity.details,
    }


@stamps_schema("A member's history, newest first")
class ActivitiesApi(StampsReadView):
    """GET /api/v3/activities/: a member's history, newest first, 20 a page at most.

    `older_than` is an ISO 8601 datetime, not an activity id: ids here are unique only
    within a type (an award's id, a redemption's id...). Pass the `created` of the last
    activity of a page to get the next one (URL-encode it: a `+` in a query string is a
    space); `has_next` says whether there is one. A page never splits one second's
    activities, so it may hold fewer than 20. `stamps` is always the amount moved; `type`
    says which way."""

    class InputSerializer(MerchantQuery):
        user = UserField()
        older_than = serializers.DateTimeField(required=False)

    class OutputSerializer(Body):
        activities = ActivityBody(many=True)
        has_next = serializers.BooleanField()

    def read(self, query: dict[str, Any]) -> dict[str, Any]:
        membership = membership_find(merchant=self.merchant, user=query["user"])
        page = activities_page(membership, older_than=query.get("older_than"))
        return {
            "activities": [activity_body(activity) for activity in page.activities],
            "has_next": page.has_next,
        }
