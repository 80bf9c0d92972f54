"""Turns `seed_demo --json` output into what wrk and run.sh read.

Usage: prepare.py SEED_JSON RUN_DIR
Writes RUN_DIR/members.txt ("<membership id> <email>" a line, in seed order) and
RUN_DIR/seed.env (shell variables: merchant, store, cheapest reward, token, member count)."""

import json
import shlex
import sys
from pathlib import Path


def main(seed_json: str, run_dir: str) -> None:
    data = json.loads(Path(seed_json).read_text())
    members = [m for m in data["members"] if m.get("email")]
    if not members:
        sys.exit("seed_demo --json listed no member with an email")
    out = Path(run_dir)
    with (out / "members.txt").open("w") as lines:
        lines.writelines(f"{m['id']} {m['email']}\n" for m in members)
    cheapest = min(data["rewards"], key=lambda reward: reward["stamps_required"])
    values = {
        "SEED_MERCHANT_ID": data["merchant_id"],
        "SEED_STORE_ID": data["store_ids"][0],
        "SEED_REWARD_ID": cheapest["id"],
        "SEED_REWARD_STAMPS": cheapest["stamps_required"],
        "SEED_TOKEN": data["token"],
        "SEED_MEMBERS": len(members),
    }
    (out / "seed.env").write_text(
        "".join(f"{name}={shlex.quote(str(value))}\n" for name, value in values.items())
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
