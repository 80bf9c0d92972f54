from django.db import models

KEY_UNIQUE = "idempotency_key_unique"


class IdempotentResponse(models.Model):
    """The response a request with an Idempotency-Key got, stored in the same transaction as
    the change it made, so a retry is answered from here and changes nothing."""

    # (no index of its own: the unique key, which starts with it, serves it)
    merchant = models.ForeignKey(
        "loyalty.Merchant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of path and body.")
    status_code = models.PositiveSmallIntegerField()
    body = models.BinaryField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "key"], name=KEY_UNIQUE),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_at")]

    def __str__(self) -> str:
        return f"{self.key} → {self.status_code}"
