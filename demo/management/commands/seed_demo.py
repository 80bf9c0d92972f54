import json
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from demo.seed import DemoData, admin_user_ensure, demo_seed


class Command(BaseCommand):
    help = "Creates (idempotently) a demo merchant with stores, levels, members, rewards and a key."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", default="Demo Coffee", help="Merchant name.")
        parser.add_argument("--members", type=int, default=3, help="How many members in all.")
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print JSON.")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(
        self, *args: Any, name: str, members: int, as_json: bool, base_url: str, **options: Any
    ) -> None:
        data = demo_seed(name=name, members=max(members, 3), now=timezone.now())
        if as_json:
            self.stdout.write(json.dumps(data.as_json()))
            return
        self.print_summary(data, admin_user_ensure(), base_url)

    def print_summary(self, data: DemoData, admin_password: str, base_url: str) -> None:
        first = data.members[0]
        out = self.stdout.write
        out(
            f"Merchant {data.merchant.name} (id {data.merchant.pk}); "
            f"stores {[s.pk for s in data.stores]}"
        )
        out(f"API token (shown once): {data.token}")
        for member in data.members[:3]:
            out(f"  member {member['id']}: {member['email']} / {member['member_id']}")
        for reward in data.rewards:
            out(f"  reward {reward.pk}: {reward.name} ({reward.stamps_to_redeem} stamps)")
        out(f"Admin: {base_url}/admin/ user admin, password {admin_password}")
        for login in data.staff:
            out(f"  {login['role']}: user {login['username']}, password {login['password']}")
        body = {"user": first["email"], "store": data.stores[0].pk, "number_of_stamps": 10}
        out("Try it:")
        out(
            f"  curl -X POST -H 'Content-Type: application/json' "
            f"-H 'Authorization: Token {data.token}' {base_url}/api/stamps/add "
            f"-d '{json.dumps(body)}'"
        )
