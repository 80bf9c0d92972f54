from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import CharField, F, Func, Q, Value
from django.db.models.lookups import Exact

from loyalty.models import (
    Level,
    Membership,
    Merchant,
    StampsDeduction,
    Store,
    channel_field,
    rules,
)


def json_object(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError('Enter a JSON object, e.g. {"SKU": "A001"}.', code="invalid")


class Reward(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="rewards")
    name = models.CharField(max_length=120)
    code = models.CharField(max_length=40, blank=True)
    description = models.TextField(blank=True)
    stamps_to_redeem = models.PositiveIntegerField()
    minimum_level = models.ForeignKey(
        Level, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stores = models.ManyToManyField(
        Store, blank=True, related_name="rewards", help_text="Empty means every store."
    )
    stock = models.PositiveIntegerField(
        null=True, blank=True, help_text="Redemptions left; empty means unlimited."
    )
    is_active = models.BooleanField(default=True)
    is_visible = models.BooleanField(
        default=True, help_text="Shown to customers; a till may still redeem a hidden reward."
    )
    starts_at = models.DateTimeField(
        null=True, blank=True, help_text="Redeemable from this moment; empty means already."
    )
    ends_at = models.DateTimeField(
        null=True, blank=True, help_text="Redeemable until this moment; empty means no end."
    )
    image_url = models.URLField(max_length=500, blank=True)
    landscape_url = models.URLField(max_length=500, blank=True, help_text="A wide picture.")
    terms = models.TextField(blank=True, help_text="The conditions customers read.")
    price = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="What it costs in money, when it is also sold; empty means not for sale.",
    )
    merchant_code = models.CharField(
        max_length=64, blank=True, help_text="The merchant's own code for it, e.g. a SKU."
    )
    extra_data = models.JSONField(
        default=dict, blank=True, validators=[json_object], help_text="A JSON object for tills."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(stamps_to_redeem__gt=0), name="reward_cost_gt_0"),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=F("starts_at")),
                name="reward_window_ends_after_start",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="reward_price_not_negative"),
            models.CheckConstraint(
                condition=Exact(
                    Func("extra_data", function="jsonb_typeof", output_field=CharField()),
                    Value("object"),
                ),
                name="reward_extra_data_is_an_object",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RedemptionStatus(models.IntegerChoices):
    ACTIVE = 1, "Active"
    CANCELED = 2, "Canceled"


class Redemption(models.Model):
    """A reward given for stamps; the stamps are spent through its deduction."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="redemptions")
    deduction = models.OneToOneField(
        StampsDeduction, on_delete=models.PROTECT, related_name="redemption"
    )
    stamps_used = models.IntegerField()
    status = models.SmallIntegerField(choices=RedemptionStatus, default=RedemptionStatus.ACTIVE)
    invoice_number = models.CharField(
        max_length=64, blank=True, help_text="Ties it to a purchase; see transactions/cancel."
    )
    channel = channel_field()
    created_at = models.DateTimeField()
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=rules("stamps_redemption_rules", "stamps_used", "status"),
                name="redemption_rules",
            ),
        ]

    def __str__(self) -> str:
        return f"redemption {self.pk}: {self.reward_id}"
