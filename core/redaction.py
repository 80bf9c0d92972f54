"""API keys kept out of everything written down: log lines and error reports. Stamps clients
send the key in the Authorization header, as `token` in the query string, or as `token` in
the body, and any of those can reach a log line (a request line, a logged body) or an error
report (the request's URL, parameters, headers and the frames' variables)."""

import logging
import re

from django.http import HttpRequest, RawPostDataException
from django.views.debug import ExceptionReporter

HIDDEN = "********"
KEY_PATTERNS = [
    re.compile(r"(?i)(\btoken=)[^&\s\"'<]+"),  # a query string or form body
    re.compile(r"(?i)(\"token\"\s*:\s*\")[^\"]*"),  # a JSON body
    re.compile(r"(?i)(\b(?:token|bearer)\s+)[A-Za-z0-9._~+/=-]{8,}"),  # an Authorization value
    re.compile(r"()\b[0-9a-f]{40}\b"),  # a key where no name gives it away (keys are 40 hex)
]


def hide_keys(text: str) -> str:
    for pattern in KEY_PATTERNS:
        text = pattern.sub(rf"\g<1>{HIDDEN}", text)
    return text


class HideKeysFilter(logging.Filter):
    """Rewrites a record whose message or traceback holds a key, whichever logger made it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = hide_keys(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = hide_keys(record.exc_text)
        return True


class KeyHidingExceptionReporter(ExceptionReporter):
    """Django's error report (the DEBUG page, mails to ADMINS) with the request's key
    replaced wherever it shows: the URL, GET and POST, headers, the frames' variables."""

    def get_traceback_html(self) -> str:
        return self.hidden(super().get_traceback_html())

    def get_traceback_text(self) -> str:
        return self.hidden(super().get_traceback_text())

    def hidden(self, report: str) -> str:
        for key in request_keys(self.request):
            report = report.replace(key, HIDDEN)
        return hide_keys(report)


def request_keys(request: HttpRequest | None) -> set[str]:
    """The keys this request sends, in any of the three places."""
    if request is None:
        return set()
    keys = {request.GET.get("token") or ""}
    named_in = [request.META.get("HTTP_AUTHORIZATION", "")]
    try:
        named_in.append(request.body.decode("utf-8", "replace"))
    except RawPostDataException:  # read as a stream by the parser: its form fields remain
        keys.add(request.POST.get("token") or "")
    for text in named_in:
        for pattern in KEY_PATTERNS:
            keys.update(match.group(0)[len(match.group(1)) :] for match in pattern.finditer(text))
    return {key for key in keys if len(key) >= 8}  # a short value would hide too much
