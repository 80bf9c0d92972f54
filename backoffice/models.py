from django.conf import settings
from django.db import models

from loyalty.models import Merchant, Store


class Role(models.TextChoices):
    """Each role is a Django group of the same name (migration 0002 gives it its permissions)."""

    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    CASHIER = "cashier", "Cashier"


class StaffProfile(models.Model):
    """A staff user's merchant and role; a cashier works at the stores listed. A user without
    one, unless a superuser (the operator), sees nothing of any merchant."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(max_length=16, choices=Role)
    stores = models.ManyToManyField(
        Store, blank=True, related_name="cashiers", help_text="Where a cashier may adjust stamps."
    )

    class Meta:
        permissions = [
            ("adjust_stamps", "Can award, deduct and redeem stamps from a member's page"),
            ("view_dashboard", "Can view the dashboard"),
            ("import_members", "Can import members from CSV"),
            ("export_members", "Can export members and activity as CSV"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.merchant})"
