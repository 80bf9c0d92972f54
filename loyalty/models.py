import zoneinfo

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import BooleanField, F, Func, Q


def rules(function: str, *columns: str) -> Func:
    """A CHECK that calls one of the row-rule functions (loyalty/sql/0014_row_rules.sql): on
    PostgreSQL one function call per row is cheaper than the same rules as separate CHECKs,
    whose stored expressions are re-read on every write."""
    return Func(*(F(column) for column in columns), function=function, output_field=BooleanField())


def default_time_zone() -> str:
    return settings.TIME_ZONE


def time_zone_known(name: str) -> None:
    if name not in zoneinfo.available_timezones():
        raise ValidationError("Not a time zone name such as Asia/Jakarta.", code="invalid")


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
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[time_zone_known],
        help_text="The merchant's day: when stamps expire and which day an invoice belongs to.",
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
    name = models.CharField(max_length=120, help_text="The store's short name or code, e.g. A301.")
    display_name = models.CharField(
        max_length=120, blank=True, help_text="The name customers see; empty means `name`."
    )
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.merchant})"

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name


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


class MaritalStatus(models.IntegerChoices):
    SINGLE = 1, "Single"
    MARRIED = 2, "Married"
    DIVORCED = 3, "Divorced"
    WIDOWED = 4, "Widowed"
    OTHERS = 5, "Others"


class RegistrationMethod(models.TextChoices):
    API = "API", "API"
    ADMIN = "Admin", "Admin"
    IMPORT = "Import", "Import"


class Channel(models.IntegerChoices):
    """The Stamps "Channel Mapping": where a purchase or a redemption happened."""

    MOBILE_APP = 1, "Mobile App"
    POS = 2, "POS"
    KIOSK = 3, "Kiosk"
    WEB = 4, "Web"
    ANDROID = 5, "Android"
    IOS = 6, "iOS"
    CALL_CENTER = 7, "Call Center"
    GRABFOOD = 8, "GrabFood"
    GOFOOD = 9, "GoFood"


def channel_field() -> models.SmallIntegerField:
    """The legacy endpoints take no channel: what a till records is a POS one. The default
    is the database's, as the ledger's functions insert these rows; no CHECK of its own, as
    these tables keep their rules in one (loyalty/sql/0014_row_rules.sql)."""
    return models.SmallIntegerField(choices=Channel, default=Channel.POS, db_default=Channel.POS)


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
    gender = models.SmallIntegerField(choices=Gender, null=True, blank=True)
    address = models.CharField(max_length=255, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    marital_status = models.SmallIntegerField(choices=MaritalStatus, null=True, blank=True)
    religion = models.SmallIntegerField(  # no CHECK of its own: see channel_field
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="The merchant's own code: Stamps publishes no list.",
    )
    wedding_date = models.DateField(null=True, blank=True)
    picture_url = models.URLField(max_length=500, blank=True)
    notes = models.TextField(blank=True)
    tags = ArrayField(
        models.CharField(max_length=40), default=list, blank=True, help_text="Comma-separated."
    )
    allow_newsletters = models.BooleanField(default=False, help_text="Consents to e-mail.")
    allow_sms_marketing = models.BooleanField(default=False, help_text="Consents to SMS.")
    allow_whatsapp_marketing = models.BooleanField(default=False, help_text="Consents to WhatsApp.")
    registration_method = models.CharField(
        max_length=8, choices=RegistrationMethod, default=RegistrationMethod.ADMIN
    )
    referral_code = models.CharField(max_length=12)
    is_blocked = models.BooleanField(default=False)
    stamps = models.BigIntegerField(default=0, editable=False)
    qualifying_stamps = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Balances are never negative, emails are stored lowercase.
            models.CheckConstraint(
                condition=rules(
                    "stamps_membership_rules", "stamps", "qualifying_stamps", "gender", "email"
                ),
                name="membership_rules",
            ),
            models.UniqueConstraint(fields=["merchant", "email"], name="membership_email_unique"),
            models.UniqueConstraint(
                fields=["merchant", "member_id"], name="membership_member_id_unique"
            ),
            models.UniqueConstraint(
                fields=["merchant", "referral_code"], name="membership_referral_unique"
            ),
        ]
        indexes = [  # `user` may be a mobile number (stamps_find_member)
            models.Index(
                fields=["merchant", "phone"], condition=~Q(phone=""), name="membership_phone"
            ),
            # The dashboard counts the members who joined in a period.
            models.Index(fields=["merchant", "created_at"], name="membership_joined"),
        ]

    def __str__(self) -> str:
        return self.email or self.member_id or f"membership {self.pk}"

    @property
    def registration_status(self) -> str:
        """ "Full" once the member has given what registration asks for, else "Partial"."""
        given = (self.name, self.email, self.birthday, self.gender)
        return "Full" if all(value not in (None, "") for value in given) else "Partial"


# Who made a change: the API key, or the staff user in the admin. Protected from deletion by
# Django (keys are revoked and users deactivated, never deleted), with no foreign key and no
# index in the database: each would cost every award a trigger and an index entry, for a
# column nothing looks rows up by.
def actor_token(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        "ApiToken",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name=related_name,
    )


def actor_staff(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name=f"{related_name}_by_staff",
    )


ACTORS = ("created_by_token", "created_by_staff", "canceled_by_token", "canceled_by_staff")


class AwardStatus(models.IntegerChoices):
    ACTIVE = 1, "Active"
    CANCELED = 2, "Canceled"
    EXPIRED = 3, "Expired"


# A lot is either spendable or closed (spent, cancelled or expired: award_rules holds a lot
# that is not active at zero), and each half has its own index by member.
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
    number_of_stamps = models.IntegerField()
    stamps_remaining = models.IntegerField()
    expiration_date = models.DateField()
    status = models.SmallIntegerField(choices=AwardStatus, default=AwardStatus.ACTIVE)
    notes = models.CharField(max_length=255, blank=True)
    require_email_notification = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    created_by_token = actor_token("awards_created")
    created_by_staff = actor_staff("awards_created")
    canceled_at = models.DateTimeField(null=True, blank=True)
    canceled_by_token = actor_token("awards_canceled")
    canceled_by_staff = actor_staff("awards_canceled")
    cancel_reason = models.CharField(max_length=255, blank=True)

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
            # A lot holds between none and all of its stamps; a closed lot holds none; each
            # change is made through an API key or by a staff user, never both.
            models.CheckConstraint(
                condition=rules(
                    "stamps_award_rules",
                    "number_of_stamps",
                    "stamps_remaining",
                    "status",
                    *ACTORS,
                ),
                name="award_rules",
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
    stamps = models.IntegerField()
    notes = models.CharField(max_length=255)
    purpose = models.SmallIntegerField(choices=DeductionPurpose, default=DeductionPurpose.DEDUCTION)
    status = models.SmallIntegerField(choices=DeductionStatus, default=DeductionStatus.ACTIVE)
    created_at = models.DateTimeField()
    created_by_token = actor_token("deductions_created")
    created_by_staff = actor_staff("deductions_created")
    canceled_at = models.DateTimeField(null=True, blank=True)
    canceled_by_token = actor_token("deductions_canceled")
    canceled_by_staff = actor_staff("deductions_canceled")
    cancel_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=rules("stamps_deduction_rules", "stamps", "purpose", "status", *ACTORS),
                name="deduction_rules",
            ),
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
        # The dashboard reads a period's entries. Entries are appended in time order, so a
        # BRIN index (a few pages, one summary per block range) finds a period's blocks
        # without a B-tree's page written per entry.
        indexes = [BrinIndex(fields=["created_at"], name="entry_created_brin")]
        constraints = [
            # A known kind, a nonzero change whose sign fits the kind, and a deduction named
            # exactly by the spends, redraws and refunds.
            models.CheckConstraint(
                condition=rules("stamps_entry_rules", "kind", "delta", "deduction"),
                name="entry_rules",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.delta:+d} on award {self.award_id}"


# The dashboard's totals: the entries summed, so a figure over a period reads a few rows per
# day instead of every entry (loyalty/sql/0024_totals.sql). They are folded from the
# entries after the fact, by id, up to a mark every entry below which is final; a reader
# adds the entries past the mark. A till's write does nothing for them.
class DailyTotal(models.Model):
    """The entries of one merchant's day (in its time zone), per lot's store, kind and, for
    spends, purpose."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    day = models.DateField()
    store = models.ForeignKey(Store, on_delete=models.CASCADE, db_index=False, related_name="+")
    kind = models.SmallIntegerField(choices=EntryKind)
    purpose = models.SmallIntegerField(choices=DeductionPurpose, null=True)
    stamps = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "day", "store", "kind", "purpose"],
                name="daily_total_key",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} store {self.store_id} {self.get_kind_display()}: {self.stamps:+d}"


class DueTotal(models.Model):
    """The stamps left in one merchant's lots at a store that expire on one date: their sum
    is the merchant's outstanding stamps (a closed lot holds none)."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, db_index=False, related_name="+")
    expiration_date = models.DateField()
    stamps = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "expiration_date", "store"], name="due_total_key"
            ),
        ]

    def __str__(self) -> str:
        return f"due {self.expiration_date} at store {self.store_id}: {self.stamps}"


class MemberActivity(models.Model):
    """The merchant's day of a member's latest award, spend or cancel (an expiry is not the
    member's doing), as far as the totals go."""

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    last_active_on = models.DateField()

    class Meta:
        verbose_name_plural = "member activities"
        indexes = [models.Index(fields=["merchant", "last_active_on"], name="member_active")]

    def __str__(self) -> str:
        return f"membership {self.membership_id} last active on {self.last_active_on}"


class TotalsMark(models.Model):
    """How far the totals go: every entry up to `folded_through` (by id) is in them, and
    every entry up to `final_through` was committed or rolled back when it was read. One
    row."""

    folded_through = models.BigIntegerField(default=0)
    final_through = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"totals through entry {self.folded_through}"


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
