import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("loyalty", "0021_member_profile_consents_store_display_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="StaffProfile",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "role",
                    models.CharField(
                        choices=[("owner", "Owner"), ("manager", "Manager"), ("cashier", "Cashier")],
                        max_length=16,
                    ),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="staff",
                        to="loyalty.merchant",
                    ),
                ),
                (
                    "stores",
                    models.ManyToManyField(
                        blank=True,
                        help_text="Where a cashier may adjust stamps.",
                        related_name="cashiers",
                        to="loyalty.store",
                    ),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="staff_profile",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "permissions": [
                    ("adjust_stamps", "Can award, deduct and redeem stamps from a member's page"),
                    ("view_dashboard", "Can view the dashboard"),
                    ("import_members", "Can import members from CSV"),
                    ("export_members", "Can export members and activity as CSV"),
                ],
            },
        ),
    ]
