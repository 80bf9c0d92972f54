"""The three roles as Django groups with their permissions. Frozen as written: a later change
of a role is a later migration, so replaying history gives what shipped."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

BACK_OFFICE = ["adjust_stamps", "view_dashboard", "import_members", "export_members"]
CASHIER = {
    "loyalty": {
        "membership": ["view"],
        "award": ["view"],
        "stampsdeduction": ["view"],
        "levelchange": ["view"],
        "store": ["view"],
        "level": ["view"],
    },
    "redemptions": {"reward": ["view"], "redemption": ["view"]},
    "transactions": {"transaction": ["view"]},
    "backoffice": {"staffprofile": ["adjust_stamps", "view_dashboard"]},
}
MANAGER = {
    "loyalty": {
        "membership": ["add", "change", "view"],
        "award": ["add", "view"],
        "stampsdeduction": ["add", "view"],
        "ledgerentry": ["view"],
        "levelchange": ["view"],
        "store": ["view"],
        "level": ["view"],
    },
    "redemptions": {"reward": ["add", "change", "delete", "view"], "redemption": ["view"]},
    "transactions": {"transaction": ["view"]},
    "backoffice": {"staffprofile": BACK_OFFICE},
}
OWNER = {
    "loyalty": {
        **MANAGER["loyalty"],
        "merchant": ["change", "view"],
        "store": ["add", "change", "delete", "view"],
        "level": ["add", "change", "delete", "view"],
        "apitoken": ["add", "change", "view"],
        "emailoutbox": ["view"],
    },
    "redemptions": MANAGER["redemptions"],
    "transactions": MANAGER["transactions"],
    "backoffice": {"staffprofile": ["add", "change", "delete", "view", *BACK_OFFICE]},
}
ROLES = {"owner": OWNER, "manager": MANAGER, "cashier": CASHIER}


def codename(action: str, model: str) -> str:
    return f"{action}_{model}" if action in {"add", "change", "delete", "view"} else action


def roles_create(apps, schema_editor) -> None:
    for app_config in apps.get_app_configs():  # permissions are otherwise made after migrating
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, grants in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, models in grants.items():
            for model, actions in models.items():
                for action in actions:
                    group.permissions.add(
                        Permission.objects.get(
                            content_type__app_label=app_label,
                            content_type__model=model,
                            codename=codename(action, model),
                        )
                    )


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
