from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import Exact, GreaterThan, In, IsNull


class Merchant(models.Model):
    name = models.CharField(max_length=120, unique=True)
    stamps_validity_days = models.PositiveIntegerField(
        default=365, help_text="Days an award stays valid when no expiration_date is given."
    )
    max_stamps_per_award = models.PositiveIntegerField(
        default=1000, help_text="Largest number_of_stamps a single award may carry."
    )
    transaction_value_per_stamp = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        default=10000,
        help_text="A purchase earns one stamp per this much of its total value (rounded down).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(stamps_validity_days__gt=0), name="merchant_validity_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_stamps_per_award__gt=0), name="merchant_award_cap_positive"
            ),
            models.CheckConstraint(
                condition=Q(transaction_value_per_stamp__gt=0), name="merchant_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Level(models.Model):
    """A membership tier such as Blue (100), Silver (200), Gold (300)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="levels")
    number = models.PositiveIntegerField(help_text="Shown as `status`, e.g. 100.")
    name = models.CharField(max_length=60, help_text="Shown as `status_text`, e.g. Blue.")
    minimum_qualifying_stamps = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["merchant", "minimum_qualifying_stamps"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "number"], name="level_number_unique"),
            models.UniqueConstraint(fields=["merchant", "name"], name="level_name_unique"),
            models.UniqueConstraint(
                fields=["merchant", "minimum_qualifying_stamps"], name="level_threshold_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"


class Store(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="stores")
    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.merchant})"


class ApiToken(models.Model):
    """A merchant's API key. Only a SHA-256 digest is stored; the key is shown once."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120)
    key_prefix = models.CharField(max_length=8, editable=False)
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Gender(models.IntegerChoices):
    MALE = 1, "Male"
    FEMALE = 2, "Female"


class Membership(models.Model):
    """A customer of one merchant, with the cached stamp balance of their lots."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="memberships")
    level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="memberships")
    # NULL, not "", for "none": the per-merchant unique constraints must ignore absent values.
    email = models.EmailField(null=True, blank=True)  # noqa: DJ001
    member_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    name = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    birthday = models.DateField(null=True, blank=True)
    gender = models.PositiveSmallIntegerField(choices=Gender, null=True, blank=True)
    address = models.CharField(max_length=255, blank=True)
    referral_code = models.CharField(max_length=12)
    is_blocked = models.BooleanField(default=False)
    stamps = models.BigIntegerField(default=0, editable=False)
    qualifying_stamps = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(stamps__gte=0), name="membership_stamps_gte_0"),
            models.CheckConstraint(
                condition=Q(qualifying_stamps__gte=0), name="membership_qualifying_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(email__isnull=True) | Q(email=models.functions.Lower("email")),
                name="membership_email_lowercase",
            ),
            models.UniqueConstraint(fields=["merchant", "email"], name="membership_email_unique"),
            models.UniqueConstraint(
                fields=["merchant", "member_id"], name="membership_member_id_unique"
            ),
            models.UniqueConstraint(
                fields=["merchant", "referral_code"], name="membership_referral_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.member_id or f"membership {self.pk}"


class AwardStatus(models.IntegerChoices):
    ACTIVE = 1, "Active"
    CANCELED = 2, "Canceled"
    EXPIRED = 3, "Expired"


# A lot is either spendable or closed (spent, cancelled or expired: award_closed_lots_are_empty
# holds a lot that is not active at zero), and each half has its own index by member.
LOT_SPENDABLE = Q(status=AwardStatus.ACTIVE, stamps_remaining__gt=0)
LOT_CLOSED = Q(stamps_remaining=0)
# Always true; naming both halves lets PostgreSQL read a member's lots from the two partial
# indexes, where by member alone it would read the whole table.
EVERY_LOT = LOT_SPENDABLE | LOT_CLOSED


class AwardQuerySet(models.QuerySet):
    def of_member(self, membership: "Membership | int") -> "AwardQuerySet":
        return self.filter(EVERY_LOT, membership=membership)


class Award(models.Model):
    """A lot of stamps: what was given, what is left, and until when it counts."""

    # No index by member over all lots: a new lot goes into the spendable half only, so an
    # award writes one index page chosen by member instead of two (see AwardQuerySet.of_member).
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="awards", db_index=False
    )
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="awards")
    # Plain integers: the constraints below bound them, and every CHECK costs each write
    # (PostgreSQL re-reads each one's stored expression per statement).
    number_of_stamps = models.IntegerField()
    stamps_remaining = models.IntegerField()
    expiration_date = models.DateField()
    status = models.PositiveSmallIntegerField(choices=AwardStatus, default=AwardStatus.ACTIVE)
    notes = models.CharField(max_length=255, blank=True)
    require_email_notification = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    canceled_at = models.DateTimeField(null=True, blank=True)

    objects = AwardQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["membership", "expiration_date", "id"],
                condition=LOT_SPENDABLE,
                name="award_spendable_lots",
            ),
            models.Index(fields=["membership"], condition=LOT_CLOSED, name="award_closed_lots"),
            models.Index(
                fields=["expiration_date"], condition=LOT_SPENDABLE, name="award_due_for_expiry"
            ),
        ]
        constraints = [
            # What a ledger entry's (award, membership) references (LedgerEntry.membership).
            models.UniqueConstraint(fields=["id", "membership"], name="award_lot_of_member"),
            models.CheckConstraint(condition=Q(number_of_stamps__gt=0), name="award_size_gt_0"),
            models.CheckConstraint(
                condition=Q(stamps_remaining__gte=0, stamps_remaining__lte=F("number_of_stamps")),
                name="award_remaining_within_size",
            ),
            models.CheckConstraint(
                condition=Q(status=AwardStatus.ACTIVE) | Q(stamps_remaining=0),
                name="award_closed_lots_are_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"award {self.pk}: {self.number_of_stamps} stamps"


class DeductionPurpose(models.IntegerChoices):
    DEDUCTION = 1, "Deduction"
    REDEMPTION = 2, "Redemption"


class DeductionStatus(models.IntegerChoices):
    ACTIVE = 1, "Active"
    CANCELED = 2, "Canceled"


class StampsDeduction(models.Model):
    """A spend of stamps, drawn from lots; redemptions spend through one of these too."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="deductions")
    stamps = models.PositiveIntegerField()
    notes = models.CharField(max_length=255)
    purpose = models.PositiveSmallIntegerField(
        choices=DeductionPurpose, default=DeductionPurpose.DEDUCTION
    )
    status = models.PositiveSmallIntegerField(
        choices=DeductionStatus, default=DeductionStatus.ACTIVE
    )
    created_at = models.DateTimeField()
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(stamps__gt=0), name="deduction_stamps_gt_0"),
        ]

    def __str__(self) -> str:
        return f"deduction {self.pk}: {self.stamps} stamps"


class EntryKind(models.IntegerChoices):
    AWARD = 1, "Award"
    AWARD_CANCEL = 2, "Award canceled"
    SPEND = 3, "Spend"
    REDRAW = 4, "Spend moved to another lot"
    EXPIRY = 5, "Expiry"
    REFUND = 6, "Spend canceled"


class LedgerEntry(models.Model):
    """An append-only movement of stamps on one lot. Lots and balances are sums of these."""

    # The lot's member, copied so balances sum without a join. Neither indexed nor a foreign
    # key of its own: one more index ordered by member would be one more random page written
    # per entry (README, Scale). On PostgreSQL the pair (award, membership) references the
    # lot's own pair (migration 0015), so an entry names its lot's member or is refused, and
    # a member with entries has lots, which protect it from deletion.
    membership = models.ForeignKey(
        Membership,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="entries",
    )
    # On PostgreSQL the (award, membership) reference checks the lot, so this key's own
    # constraint is dropped there (migration 0019): one check fewer per entry at commit.
    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="entries")
    deduction = models.ForeignKey(
        StampsDeduction, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    kind = models.SmallIntegerField(choices=EntryKind)
    delta = models.IntegerField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            # Short expressions on purpose: PostgreSQL re-reads each CHECK's stored expression
            # on every insert, and these run on every award (README, Benchmark).
            models.CheckConstraint(condition=~Q(delta=0), name="entry_delta_nonzero"),
            models.CheckConstraint(
                condition=Q(kind__range=(min(EntryKind.values), max(EntryKind.values))),
                name="entry_kind_known",
            ),
            # Spends, redraws and refunds name their deduction; awards, cancels and expiries
            # name none.
            models.CheckConstraint(
                condition=Exact(
                    IsNull(F("deduction"), True),
                    In(F("kind"), [EntryKind.AWARD, EntryKind.AWARD_CANCEL, EntryKind.EXPIRY]),
                ),
                name="entry_spends_name_their_deduction",
            ),
            # Awards and refunds add stamps, redraws move them either way, the rest take away.
            models.CheckConstraint(
                condition=Q(
                    Exact(
                        GreaterThan(F("delta"), 0),
                        In(F("kind"), [EntryKind.AWARD, EntryKind.REFUND]),
                    )
                )
                | Q(kind=EntryKind.REDRAW),
                name="entry_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.delta:+d} on award {self.award_id}"


class LevelChangeKind(models.IntegerChoices):
    UPGRADE = 1, "Upgrade"
    DOWNGRADE = 2, "Downgrade"


class LevelChange(models.Model):
    """An append-only record of a member moving to another level. `kind` is fixed when the
    move happens: a merchant may edit the thresholds later."""

    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="level_changes"
    )
    from_level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="+")
    to_level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="+")
    kind = models.PositiveSmallIntegerField(choices=LevelChangeKind)
    award = models.ForeignKey(
        Award,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="level_changes",
        help_text="The award whose grant or cancellation moved the qualifying stamps.",
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_level=F("to_level")), name="level_change_moves"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of membership {self.membership_id}"


class OutboxStatus(models.IntegerChoices):
    PENDING = 1, "Pending"
    SENT = 2, "Sent"
    FAILED = 3, "Failed"


class EmailOutbox(models.Model):
    """Emails written in the same transaction as the change they announce, sent later.
    A row holds the facts; the text is rendered when it is sent."""

    # No index by member: nothing reads the outbox by member but a member's deletion, and
    # such an index costs each award with an email a random page written (README, Scale).
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="emails", db_index=False
    )
    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="emails")
    recipient = models.EmailField()
    stamps_after = models.BigIntegerField(help_text="The member's stamps right after the award.")
    status = models.PositiveSmallIntegerField(choices=OutboxStatus, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "email outbox"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status=OutboxStatus.PENDING),
                name="outbox_pending_due",
            )
        ]

    def __str__(self) -> str:
        return f"award {self.award_id} → {self.recipient}"
