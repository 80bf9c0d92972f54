"""A keyed request's transaction runs PostgreSQL's deferred foreign-key checks at its
COMMIT. What they refuse is reported as what it is, not as a twin holding the key, and
nothing of the request is kept."""

import pytest
from django.db import IntegrityError, connection

from core.idempotency import services
from core.idempotency.models import IdempotentResponse
from loyalty.models import Award, LedgerEntry
from tests.wire import side_connection

pytestmark = [pytest.mark.django_db(transaction=True)]


def store_deleted_elsewhere(store_id: int) -> None:
    """Another session deletes the store and commits: the award in flight still names it."""
    with side_connection() as other:
        other.execute("DELETE FROM loyalty_store WHERE id = %s", [store_id])


def test_a_foreign_key_refused_at_commit_is_not_a_key_in_use(tenant, monkeypatch):
    store_answer = services.response_store

    def store_deleted_before_commit(**arguments):
        store_deleted_elsewhere(tenant.store.pk)
        store_answer(**arguments)

    monkeypatch.setattr(services, "response_store", store_deleted_before_commit)
    body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 3}

    with pytest.raises(IntegrityError, match="store"):
        tenant.post("/api/stamps/add", body, HTTP_IDEMPOTENCY_KEY="till-7")

    assert IdempotentResponse.objects.count() == 0
    assert Award.objects.count() == LedgerEntry.objects.count() == 0
    tenant.member.refresh_from_db()
    assert tenant.member.stamps == 0
    assert connection.get_autocommit() and not connection.in_atomic_block
