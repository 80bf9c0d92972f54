"""Members in from CSV (checked whole, written whole or not at all) and out as CSV."""

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from backoffice.models import Role
from loyalty.checks import ledger_mismatches
from loyalty.models import Award, Gender, LedgerEntry, Membership, RegistrationMethod
from tests.backoffice.helpers import populate_merchant, staff_client
from tests.factories import MerchantFactory, StoreFactory

pytestmark = pytest.mark.django_db
HEADER = "email,member_id,name,phone,birthday,gender,stamps,expiration_date,level\n"
LATER = (timezone.localdate() + datetime.timedelta(days=90)).isoformat()
CLEAN = (
    HEADER
    + f"ann@example.com,C-1,Ann,0812,1990-02-03,female,25,{LATER},Blue\n"
    + ",C-2,Ben,,,m,0,,\n"
    + "cy@example.com,,Cy,,,,,,\n"
)


def row_versions(merchant) -> dict[int, str]:
    """Each member's row version (PostgreSQL's xmin changes whenever the row is written)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, xmin::text FROM loyalty_membership WHERE merchant_id = %s", [merchant.pk]
        )
        return dict(cursor.fetchall())


def write(tmp_path, text: str):
    path = tmp_path / "members.csv"
    path.write_text(text)
    return path


def import_command(path, merchant, *extra: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_members", str(path), "--merchant", str(merchant.pk), *extra, stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


def refusal_lines(path, merchant) -> list[str]:
    """The lines the command writes to stderr when it refuses the file."""
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "import_members",
            str(path),
            "--merchant",
            str(merchant.pk),
            stdout=io.StringIO(),
            stderr=err,
        )
    return err.getvalue().splitlines()


def state(merchant) -> tuple:
    return (
        list(Membership.objects.filter(merchant=merchant).order_by("pk").values()),
        LedgerEntry.objects.count(),
    )


@pytest.fixture
def merchant():
    merchant = MerchantFactory()
    StoreFactory(merchant=merchant)
    return merchant


class TestImportCommand:
    def test_a_clean_file_creates_members_and_opening_lots_through_the_ledger(
        self, tmp_path, merchant
    ):
        out, _ = import_command(write(tmp_path, CLEAN), merchant)

        ann = Membership.objects.get(merchant=merchant, email="ann@example.com")
        assert (ann.member_id, ann.name, ann.phone) == ("C-1", "Ann", "0812")
        assert (ann.birthday, ann.gender) == (datetime.date(1990, 2, 3), Gender.FEMALE)
        assert ann.registration_method == RegistrationMethod.IMPORT
        assert ann.stamps == 25
        lot = Award.objects.of_member(ann).get()
        assert lot.expiration_date.isoformat() == LATER
        assert Membership.objects.filter(merchant=merchant).count() == 3
        assert "3 new members with 25 opening stamps" in out
        assert list(ledger_mismatches()) == []

    def test_opening_stamps_without_a_date_expire_after_the_validity_days(self, tmp_path, merchant):
        import_command(write(tmp_path, HEADER + "d@example.com,,,,,,5,,\n"), merchant)

        lot = Award.objects.get(membership__email="d@example.com")
        expected = timezone.localdate() + datetime.timedelta(days=merchant.stamps_validity_days)
        assert lot.expiration_date == expected

    def test_importing_the_same_file_again_credits_nothing_twice(self, tmp_path, merchant):
        path = write(tmp_path, CLEAN)
        import_command(path, merchant)
        entries = LedgerEntry.objects.count()
        versions = row_versions(merchant)

        out, _ = import_command(path, merchant)

        assert row_versions(merchant) == versions  # no member's row was written again
        assert LedgerEntry.objects.count() == entries
        assert Membership.objects.get(email="ann@example.com").stamps == 25
        assert "0 members updated, 3 unchanged" in out

    def test_a_second_file_updates_a_known_members_profile(self, tmp_path, merchant):
        import_command(write(tmp_path, CLEAN), merchant)

        out, _ = import_command(write(tmp_path, HEADER + ",C-2,Benjamin,0999,,,50,,\n"), merchant)

        ben = Membership.objects.get(member_id="C-2")
        assert (ben.name, ben.phone, ben.stamps) == ("Benjamin", "0999", 0)
        assert "1 members updated, 0 unchanged" in out

    def test_every_error_is_listed_with_its_line_and_nothing_is_written(self, tmp_path, merchant):
        before = state(merchant)
        bad = (
            HEADER
            + "ok@example.com,,,,,,,,\n"
            + "not-an-email,,,,,,,,\n"
            + ",,No Identity,,,,,,\n"
            + "e@example.com,,,,1990-13-01,x,-1,2000-01-01,Platinum\n"
            + "ok@example.com,,,,,,,,\n"
        )

        with pytest.raises(CommandError, match="nothing was imported"):
            import_command(write(tmp_path, bad), merchant)

        assert state(merchant) == before

    def test_errors_name_lines_and_fields(self, tmp_path, merchant):
        bad = HEADER + "not-an-email,,,,,,,,\n,,x,,,,,,\nq@example.com,,,,,,,2000-01-01,Nope\n"
        lines = refusal_lines(write(tmp_path, bad), merchant)

        assert "line 2: email: Enter a valid email address." in lines
        assert "line 3: Give an email or a member_id." in lines
        assert "line 4: expiration_date: The date has passed." in lines
        assert any(line.startswith("line 4: level:") for line in lines)

    def test_each_bad_column_of_a_row_is_named(self, tmp_path, merchant):
        bad = HEADER + "e@example.com,,,,1990-13-01,x,-1,2000-01-01,Platinum\n"
        lines = refusal_lines(write(tmp_path, bad), merchant)

        named = [line.split(":")[1].strip() for line in lines]
        assert named == ["birthday", "gender", "stamps", "expiration_date", "level"]

    def test_a_member_named_by_two_rows_is_an_error(self, tmp_path, merchant):
        import_command(write(tmp_path, CLEAN), merchant)
        before = state(merchant)
        twice = HEADER + "ann@example.com,,New,,,,,,\n,C-1,Old,,,,,,\n"
        lines = refusal_lines(write(tmp_path, twice), merchant)

        assert lines == ["line 3: names the same member as line 2"]
        assert state(merchant) == before

    def test_a_repeated_email_is_said_once(self, tmp_path, merchant):
        import_command(write(tmp_path, CLEAN), merchant)
        twice = HEADER + "ann@example.com,,A,,,,,,\nann@example.com,,B,,,,,,\n"
        lines = refusal_lines(write(tmp_path, twice), merchant)

        assert lines == ["line 3: email ann@example.com is also on line 2"]

    def test_a_dry_run_checks_and_writes_nothing(self, tmp_path, merchant):
        before = state(merchant)

        out, _ = import_command(write(tmp_path, CLEAN), merchant, "--dry-run")

        assert state(merchant) == before
        assert "nothing written" in out and "3 new members" in out

    def test_a_wrong_header_is_refused(self, tmp_path, merchant):
        with pytest.raises(CommandError):
            import_command(write(tmp_path, "mail,card\nx,y\n"), merchant)

        assert Membership.objects.filter(merchant=merchant).count() == 0

    def test_an_unknown_merchant_is_refused(self, tmp_path):
        with pytest.raises(CommandError, match="No merchant"):
            call_command("import_members", str(write(tmp_path, CLEAN)), "--merchant", "999999")

    def test_large_opening_balances_become_lots_of_at_most_the_largest_award(
        self, tmp_path, merchant
    ):
        import_command(write(tmp_path, HEADER + "big@example.com,,,,,,2500,,\n"), merchant)

        member = Membership.objects.get(email="big@example.com")
        lots = sorted(a.number_of_stamps for a in Award.objects.of_member(member))
        assert member.stamps == 2500
        assert lots == [500, 1000, 1000]


class TestAdminImport:
    def upload(self, client, text: str, **extra):
        return client.post(
            reverse("admin:loyalty_membership_import"),
            {"file": SimpleUploadedFile("m.csv", text.encode()), **extra},
        )

    def test_an_owner_imports_a_file_with_an_error_then_a_clean_one(self):
        shop = populate_merchant("ZZA")
        client = staff_client(shop, Role.OWNER)
        before = state(shop.merchant)

        clean = CLEAN.replace(",Blue\n", ",ZZA Blue\n")  # this merchant's level names
        refused = self.upload(client, clean + "bad,,,,,,,,\n", merchant=shop.merchant.pk)
        accepted = self.upload(client, clean, merchant=shop.merchant.pk)

        assert refused.status_code == 400
        assert "line 5: email: Enter a valid email address." in refused.content.decode()
        assert accepted.status_code == 302
        assert state(shop.merchant) != before
        ann = Membership.objects.get(merchant=shop.merchant, email="ann@example.com")
        assert Award.objects.of_member(ann).get().created_by_staff.username.startswith("owner")

    def test_staff_cannot_import_into_another_merchant(self):
        shop, other = populate_merchant("ZZA"), populate_merchant("ZZB")
        client = staff_client(shop, Role.MANAGER)
        before = state(other.merchant)

        response = self.upload(client, CLEAN, merchant=other.merchant.pk)

        assert response.status_code == 400
        assert state(other.merchant) == before

    def test_a_cashier_may_not_import(self):
        client = staff_client(populate_merchant("ZZA"), Role.CASHIER)

        assert self.upload(client, CLEAN).status_code == 403

    def test_a_file_that_is_not_utf8_is_refused(self):
        shop = populate_merchant("ZZA")
        client = staff_client(shop, Role.OWNER)
        response = client.post(
            reverse("admin:loyalty_membership_import"),
            {"file": SimpleUploadedFile("m.csv", b"\xff\xfe\x00bad"), "merchant": shop.merchant.pk},
        )

        assert response.status_code == 400


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


class TestExport:
    def test_the_members_export_lists_balances_levels_and_expiring_stamps(self):
        shop = populate_merchant("ZZA")
        out = io.StringIO()

        call_command("export_members", "--merchant", str(shop.merchant.pk), stdout=out)

        rows = parse(out.getvalue())
        member = Membership.objects.get(pk=shop.member.pk)
        assert [r["email"] for r in rows] == [member.email]
        assert rows[0]["stamps"] == str(member.stamps)
        assert rows[0]["level"] == member.level.name
        assert rows[0]["stamps_expiring_30_days"] == "0"

    def test_an_export_imports_back_without_changes(self, tmp_path, merchant):
        import_command(write(tmp_path, CLEAN), merchant)
        out = io.StringIO()
        call_command("export_members", "--merchant", str(merchant.pk), stdout=out)
        keep = ["email", "member_id", "name", "phone", "birthday", "gender"]
        again = io.StringIO()
        writer = csv.DictWriter(again, fieldnames=keep, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(parse(out.getvalue()))
        before = state(merchant)

        import_command(write(tmp_path, again.getvalue()), merchant)

        assert state(merchant) == before

    def test_the_activity_export_lists_the_merchants_entries_since_a_day(self):
        shop, _ = populate_merchant("ZZA"), populate_merchant("ZZB")
        out = io.StringIO()
        since = timezone.localdate().isoformat()

        call_command(
            "export_activities", "--merchant", str(shop.merchant.pk), "--since", since, stdout=out
        )

        rows = parse(out.getvalue())
        entries = LedgerEntry.objects.filter(membership__merchant=shop.merchant)
        assert len(rows) == entries.count()
        assert sum(int(r["stamps"]) for r in rows) == sum(e.delta for e in entries)
        assert {r["email"] for r in rows} == {shop.member.email}

    def test_a_bad_since_date_is_refused(self):
        shop = populate_merchant("ZZA")
        with pytest.raises(CommandError, match="not a date"):
            call_command(
                "export_activities", "--merchant", str(shop.merchant.pk), "--since", "yesterday"
            )

    def test_the_admin_streams_only_the_staff_users_merchant(self):
        shop, other = populate_merchant("ZZA"), populate_merchant("ZZB")
        client = staff_client(shop, Role.MANAGER)
        url = reverse("admin:loyalty_membership_export")

        mine = client.get(url, {"merchant": shop.merchant.pk, "what": "members"})
        theirs = client.get(url, {"merchant": other.merchant.pk, "what": "activity"})

        body = b"".join(mine.streaming_content).decode()
        assert [r["email"] for r in parse(body)] == [shop.member.email]
        assert theirs.status_code == 400
        assert other.merchant.name not in theirs.content.decode()


class TestMalformedFiles:
    @pytest.mark.parametrize(
        "text",
        [
            "",
            "email\n" + "x" * 200_000 + "@example.com\n",  # past the csv module's field limit
            HEADER + "a@example.com,C\x00,,,,,,,\n",
            HEADER + 'a@example.com,"unclosed,,,,,,,\n',
            HEADER + "a@example.com,,,,,,,,,,,,\n",
        ],
        ids=["empty", "huge-field", "nul", "unclosed-quote", "too-many-values"],
    )
    def test_is_refused_with_a_reason_and_writes_nothing(self, tmp_path, merchant, text):
        before = state(merchant)
        lines = refusal_lines(write(tmp_path, text), merchant)

        assert any(line.strip() for line in lines)
        assert state(merchant) == before
