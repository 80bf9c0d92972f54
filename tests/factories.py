import datetime

import factory
from django.utils import timezone

from loyalty.ledger import SYSTEM
from loyalty.models import Award, Level, Membership, Merchant, StampsDeduction, Store
from loyalty.services import AwardRequest, award_create, stamps_deduct
from redemptions.models import Redemption, Reward
from redemptions.services import Redeemed


class MerchantFactory(factory.django.DjangoModelFactory[Merchant]):
    class Meta:
        model = Merchant
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Merchant {n}")

    @factory.post_generation
    def levels(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            Level.objects.create(merchant=self, number=100, name="Blue")
            Level.objects.create(
                merchant=self, number=200, name="Silver", minimum_qualifying_stamps=50
            )
            Level.objects.create(
                merchant=self, number=300, name="Gold", minimum_qualifying_stamps=150
            )


class StoreFactory(factory.django.DjangoModelFactory[Store]):
    class Meta:
        model = Store

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Store {n}")


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    """A member with no stamps; give stamps through `award_stamps` so the ledger stays whole."""

    class Meta:
        model = Membership

    merchant = factory.SubFactory(MerchantFactory)
    level = factory.LazyAttribute(
        lambda o: (
            Level.objects.filter(merchant=o.merchant).order_by("minimum_qualifying_stamps").first()
        )
    )
    email = factory.Sequence(lambda n: f"member{n}@example.com")
    member_id = factory.Sequence(lambda n: f"CARD-{n:06d}")
    name = factory.Faker("name")
    referral_code = factory.Sequence(lambda n: f"REF{n:06d}")


class RewardFactory(factory.django.DjangoModelFactory[Reward]):
    class Meta:
        model = Reward

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Reward {n}")
    stamps_to_redeem = 10


def award_stamps(
    membership: Membership,
    stamps: int,
    *,
    store: Store | None = None,
    expiration_date: datetime.date | None = None,
    now: datetime.datetime | None = None,
    notify: bool = False,
    notes: str = "",
) -> Award:
    store = store or StoreFactory(merchant=membership.merchant)
    awarded = award_create(
        merchant=membership.merchant,
        request=AwardRequest(
            user=None,
            store=store.pk,
            number_of_stamps=stamps,
            expiration_date=expiration_date,
            require_email_notification=notify,
            notes=notes,
        ),
        now=now or timezone.now(),
        actor=SYSTEM,
        membership_id=membership.pk,
    )
    return Award.objects.get(pk=awarded.id)


def deduct_stamps(
    membership: Membership, stamps: int, *, now: datetime.datetime | None = None
) -> StampsDeduction:
    deducted = stamps_deduct(
        merchant=membership.merchant,
        user=None,
        stamps=stamps,
        notes="test",
        now=now or timezone.now(),
        actor=SYSTEM,
        membership_id=membership.pk,
    )
    return StampsDeduction.objects.get(pk=deducted.id)


def redeemed(result: Redeemed) -> Redemption:
    """The redemption a service call made, as a model instance."""
    return Redemption.objects.get(pk=result.id)
