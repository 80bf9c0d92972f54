from django.db import models
from django.db.models import F, Q

from loyalty.models import Level, Membership, Merchant, StampsDeduction, Store, rules


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
