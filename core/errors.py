"""One error mechanism: domain errors carry a stable code and an HTTP status;
`core.exception_handler` renders them in the Stamps shape each view declares."""

import enum

from rest_framework import exceptions, status

LEGACY_DETAIL = "Your transaction cannot be completed due to the following error(s)"
NON_FIELD = "__all__"
INFO_KEY = "info"


class ErrorStyle(enum.Enum):
    """The error bodies the Stamps documents print, each for the endpoints it names
    (../shared/reference/stamps-documented-shapes.md, section 10)."""

    FIELD_MAP = "field_map"  # {"detail", "error_message", "error_code", "errors": {field: msg}}
    # {"detail": LEGACY_DETAIL, "errors": [{field: msg}, ...]}, messages without a full stop,
    # as the membership, reward and redemption examples print them
    LEGACY_LIST = "legacy_list"
    # the same list with each message as written, as the purchase examples print them
    LEGACY_SENTENCES = "legacy_sentences"
    # {"errors": {"info": msg}} for a refusal, {"errors": {field: msg}} for invalid input
    INFO = "info"


class DomainError(Exception):
    """A refusal the client can act on. Subclasses set code, status and message."""

    code = "invalid_data"
    status_code = status.HTTP_400_BAD_REQUEST
    message = "Invalid data"
    field: str | None = None

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.message
        self.field = field or self.field
        super().__init__(self.message)


class NotFound(DomainError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "Not found"


class InvalidToken(exceptions.APIException):
    """401, which DRF would turn into 403 were it an AuthenticationFailed without a scheme."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = "Invalid token"
    default_code = "invalid_token"
