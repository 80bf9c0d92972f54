"""What every Stamps endpoint shares: merchant auth, input validation, error style."""

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from loyalty.models import Merchant
from stamps_server.authentication import ApiClient
from stamps_server.errors import ErrorStyle

MAX_ID = 2**63 - 1
MAX_STAMPS = 1_000_000


class TextField(serializers.CharField):
    """A CharField that also refuses lone UTF-16 surrogates, which no database can store."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("invalid")
        return value

    default_error_messages = {"invalid": "Not a valid string."}


class UserField(TextField):
    """A member's email, Member ID (card number) or numeric id; JSON numbers are accepted."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)


def id_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def stamps_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_STAMPS, **kwargs)


class StampsApiView(APIView):
    """Subclasses declare an InputSerializer and, if they use the older shape, error_style."""

    error_style = ErrorStyle.FIELD_MAP
    InputSerializer: type[serializers.Serializer]

    @property
    def merchant(self) -> Merchant:
        client = self.request.user
        assert isinstance(client, ApiClient)
        return client.merchant

    def validated(self, request: Request) -> dict[str, Any]:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)
