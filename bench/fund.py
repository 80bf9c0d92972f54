"""Gives the first N members of the list enough stamps for the POS mix, through the API.

Usage: fund.py BASE_URL TOKEN STORE_ID MEMBERS_FILE N STAMPS
Setup only, not measured: deducts, redemptions and cancels in the mix then never meet a
member short of stamps, so any error wrk counts is a real one."""

import http.client
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from urllib.parse import urlsplit

WORKERS = 4


def award_all(base_url: str, token: str, store: int, emails: list[str], stamps: int) -> int:
    """Awards `stamps` to each email over one keep-alive connection; returns the failures."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    failures = 0
    for email in emails:
        body = {
            "user": email,
            "store": store,
            "number_of_stamps": stamps,
            "notes": "bench funding",
            "require_email_notification": False,
        }
        conn.request("POST", "/api/stamps/add", json.dumps(body), headers)
        response = conn.getresponse()
        text = response.read()
        if response.status != 200:
            failures += 1
            if failures <= 3:
                print(f"fund {email}: HTTP {response.status} {text[:300]!r}", file=sys.stderr)
    conn.close()
    return failures


def main(base_url: str, token: str, store: str, members_file: str, n: str, stamps: str) -> None:
    with open(members_file) as lines:
        emails = [line.split()[1] for line in islice(lines, int(n))]
    shares = [emails[i::WORKERS] for i in range(WORKERS)]

    def award_share(share: list[str]) -> int:
        return award_all(base_url, token, int(store), share, int(stamps))

    with ThreadPoolExecutor(WORKERS) as pool:
        failures = sum(pool.map(award_share, shares))
    print(f"funded {len(emails) - failures}/{len(emails)} members with {stamps} stamps each")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(*sys.argv[1:])
