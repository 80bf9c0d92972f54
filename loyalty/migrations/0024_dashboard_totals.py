"""The dashboard's totals, folded from the ledger's entries after they are written
(loyalty/sql/0024_totals.sql, frozen with this migration). Nothing is folded here: the
entries already written are folded by `manage.py fold_totals` (about 90 s for ten million
entries), and until then a reader sums them as it would entries past the mark."""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

SQL = Path(__file__).resolve().parent.parent / "sql" / "0024_totals.sql"  # frozen with it


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL.read_text())


def uninstall(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER lot_key_fixed ON loyalty_award;"
            " DROP FUNCTION stamps_lot_key_fixed(), stamps_fold_totals(bigint),"
            " stamps_entries_final(), stamps_totals_mark_ensure(),"
            " stamps_entry_facts_unfolded();"
            " DROP VIEW stamps_entry_facts;"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0023_find_member_by_phone'),
    ]

    operations = [
        migrations.CreateModel(
            name='DailyTotal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('kind', models.SmallIntegerField(choices=[(1, 'Award'), (2, 'Award canceled'), (3, 'Spend'), (4, 'Spend moved to another lot'), (5, 'Expiry'), (6, 'Spend canceled')])),
                ('purpose', models.SmallIntegerField(choices=[(1, 'Deduction'), (2, 'Redemption')], null=True)),
                ('stamps', models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name='DueTotal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('expiration_date', models.DateField()),
                ('stamps', models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name='MemberActivity',
            fields=[
                ('membership', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='loyalty.membership')),
                ('last_active_on', models.DateField()),
            ],
            options={
                'verbose_name_plural': 'member activities',
            },
        ),
        migrations.CreateModel(
            name='TotalsMark',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('folded_through', models.BigIntegerField(default=0)),
                ('final_through', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AddIndex(
            model_name='membership',
            index=models.Index(fields=['merchant', 'created_at'], name='membership_joined'),
        ),
        migrations.AddField(
            model_name='dailytotal',
            name='merchant',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='loyalty.merchant'),
        ),
        migrations.AddField(
            model_name='dailytotal',
            name='store',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='loyalty.store'),
        ),
        migrations.AddField(
            model_name='duetotal',
            name='merchant',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='loyalty.merchant'),
        ),
        migrations.AddField(
            model_name='duetotal',
            name='store',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='loyalty.store'),
        ),
        migrations.AddField(
            model_name='memberactivity',
            name='merchant',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='loyalty.merchant'),
        ),
        migrations.AddConstraint(
            model_name='dailytotal',
            constraint=models.UniqueConstraint(fields=('merchant', 'day', 'store', 'kind', 'purpose'), name='daily_total_key', nulls_distinct=False),
        ),
        migrations.AddConstraint(
            model_name='duetotal',
            constraint=models.UniqueConstraint(fields=('merchant', 'expiration_date', 'store'), name='due_total_key'),
        ),
        migrations.AddIndex(
            model_name='memberactivity',
            index=models.Index(fields=['merchant', 'last_active_on'], name='member_active'),
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
