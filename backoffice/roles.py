"""The three roles as Django groups and their permissions: the one table of who may do what.
Made by migration 0002 and brought in step after every `migrate` (and a test database's
flush) by the post_migrate handler in apps.py, so a change here applies at the next migrate."""

from typing import Any

from django.contrib.auth.management import create_permissions

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


def roles_models_installed(apps: Any) -> bool:
    """Whether `apps` (a state part way through a step-by-step migrate, perhaps) has every
    model the roles name, and the groups themselves."""
    try:
        apps.get_model("auth", "Group")
        for app_label, models in {**OWNER, **CASHIER}.items():
            for model in models:
                apps.get_model(app_label, model)
    except LookupError:
        return False
    return True


def roles_sync(apps: Any) -> None:
    """Each role's group holds exactly its permissions. `apps`: a migration's or the global."""
    for app_config in apps.get_app_configs():  # in a migration, made only after migrating
        stub = getattr(app_config, "models_module", None) is None  # a migration's app
        if stub:
            app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        if stub:
            app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, grants in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(
            [
                Permission.objects.get(
                    content_type__app_label=app_label,
                    content_type__model=model,
                    codename=codename(action, model),
                )
                for app_label, models in grants.items()
                for model, actions in models.items()
                for action in actions
            ]
        )
