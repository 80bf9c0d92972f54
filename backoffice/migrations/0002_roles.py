"""The three roles as Django groups with their permissions (backoffice/roles.py)."""

from django.db import migrations

from backoffice.roles import ROLES, roles_sync


def roles_create(apps, schema_editor) -> None:
    roles_sync(apps)


def roles_drop(apps, schema_editor) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("loyalty", "0021_member_profile_consents_store_display_name"),
        ("redemptions", "0005_reward_terms_pictures_price_channel"),
        ("transactions", "0002_transaction_channel"),
    ]

    operations = [migrations.RunPython(roles_create, roles_drop)]
