"""`/` (and the admin's "View site") is a small page, not Django's 404."""

import pytest

pytestmark = pytest.mark.django_db


class TestLandingPage:
    def test_the_root_and_view_site_lead_to_the_admin_and_the_api_docs(self, client):
        response = client.get("/")

        assert response.status_code == 200
        body = response.content.decode()
        assert 'href="/admin/"' in body and 'href="/api/docs/"' in body
