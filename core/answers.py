"""An endpoint's answer as a plain value: what both ways of answering a Stamps POST share
(core.api.StampsApiView.answer). DRF's view turns it into an HttpResponse; the lean lane
(stamps_server/lane.py) writes it out as WSGI, which costs a tenth of an award's Python
less than building the HttpResponse."""

from typing import NamedTuple

from django.http import HttpResponse

JSON = "application/json"
JSON_HEADERS = (("Content-Type", JSON),)


class Answer(NamedTuple):
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = JSON_HEADERS

    @classmethod
    def of(cls, response: HttpResponse) -> "Answer":
        return cls(response.status_code, response.content, tuple(response.items()))

    def as_response(self) -> HttpResponse:
        return HttpResponse(self.body, status=self.status, headers=dict(self.headers))
