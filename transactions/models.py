from django.db import models
from django.db.models import Q

from loyalty.models import Award, Membership, Merchant, Store, channel_field

INVOICE_UNIQUE = "transaction_invoice_unique_per_store_day"


class TransactionStatus(models.IntegerChoices):
    ACTIVE = 1, "Active"
    CANCELED = 2, "Canceled"


class Transaction(models.Model):
    """A purchase reported by a till; it earns stamps through an award (its lot)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="transactions")
    membership = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
        help_text="Empty for an open (anonymous) purchase.",
    )
    award = models.OneToOneField(
        Award, on_delete=models.PROTECT, null=True, blank=True, related_name="transaction"
    )
    invoice_number = models.CharField(max_length=64)
    invoice_date = models.DateField(help_text="The store's local date of `created_at`.")
    total_value = models.DecimalField(max_digits=16, decimal_places=2)
    subtotal = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    discount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    service_charge = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    tax = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    number_of_people = models.PositiveIntegerField()
    items = models.JSONField(default=list, blank=True)
    stamps_earned = models.PositiveIntegerField(default=0)
    channel = channel_field()
    status = models.PositiveSmallIntegerField(
        choices=TransactionStatus, default=TransactionStatus.ACTIVE
    )
    created_at = models.DateTimeField(help_text="When the purchase happened, per the till.")
    recorded_at = models.DateTimeField()
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A retried till can never earn twice for one receipt.
            models.UniqueConstraint(
                fields=["store", "invoice_number", "invoice_date"],
                name=INVOICE_UNIQUE,
            ),
            models.CheckConstraint(condition=Q(total_value__gte=0), name="transaction_value_gte_0"),
            models.CheckConstraint(
                condition=Q(stamps_earned=0) | Q(award__isnull=False),
                name="transaction_stamps_have_a_lot",
            ),
        ]

    def __str__(self) -> str:
        return f"invoice {self.invoice_number} ({self.store_id})"
