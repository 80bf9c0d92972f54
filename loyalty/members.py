"""Finding a merchant's member from the `user` a till sends: an email, a Member ID or the
numeric id, by the ledger's own rule (stamps_find_member, loyalty/sql)."""

from django.db.models import Value

from loyalty.ledger import FoundMember
from loyalty.models import Membership, Merchant
from loyalty.refusals import LedgerRefusal


def membership_find(*, merchant: Merchant, user: str) -> Membership:
    membership = (
        Membership.objects.select_related("level")
        .filter(pk=FoundMember(Value(merchant.pk), Value(user)))
        .first()
    )
    if membership is None:
        raise LedgerRefusal("user_not_found")
    return membership
