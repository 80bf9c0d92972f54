"""Every refusal the ledger gives, by the code its database functions return
(loyalty/sql/0020_ledger.sql), with what the API answers for it: the error's code, message,
field and HTTP status. tests/loyalty/test_refusals.py fails when a function can return a
code this registry lacks. The order each function checks them in is in docs/ledger.md."""

from dataclasses import dataclass

from rest_framework import status

from core.errors import DomainError


@dataclass(frozen=True)
class Refusal:
    error_code: str
    message: str  # "{detail}" stands for what the function returned beside the code
    field: str | None
    status: int = status.HTTP_400_BAD_REQUEST


NOT_FOUND = status.HTTP_404_NOT_FOUND
REDEMPTION_REFUSED = "invalid_redemption"

REFUSALS: dict[str, Refusal] = {
    # awards and purchases
    "award_too_large": Refusal(
        "max_value", "Ensure this value is less than or equal to {detail}.", "number_of_stamps"
    ),
    "expiration_in_past": Refusal(
        "invalid", "Expiration date cannot be in the past", "expiration_date"
    ),
    "invalid_store": Refusal("invalid_store", "Invalid store", "store"),
    "user_not_found": Refusal("invalid_data", "User not found", "user"),
    "membership_blocked": Refusal("membership_blocked", "This membership is blocked", "user"),
    "duplicate_invoice": Refusal(
        "invalid_transaction",
        "This invoice number was already used at this store today",
        "invoice_number",
    ),
    # spends
    "insufficient_stamps": Refusal(
        "insufficient_stamps", "Membership has insufficient stamps", "stamps"
    ),
    "invalid_reward": Refusal("invalid_reward", "Invalid reward", "reward"),
    "not_yet_available": Refusal(REDEMPTION_REFUSED, "This reward is not available yet", "reward"),
    "no_longer_available": Refusal(
        REDEMPTION_REFUSED, "This reward is no longer available", "reward"
    ),
    "store_not_eligible": Refusal(
        REDEMPTION_REFUSED, "This reward cannot be redeemed at this store", "reward"
    ),
    "level_not_reached": Refusal(
        REDEMPTION_REFUSED, "This reward needs the {detail} level", "reward"
    ),
    "out_of_stock": Refusal(REDEMPTION_REFUSED, "This reward is out of stock", "reward"),
    # cancels
    "award_not_found": Refusal("not_found", "Award not found", "id", NOT_FOUND),
    "award_canceled": Refusal("invalid_award", "Award is already canceled", "id"),
    "award_expired": Refusal("invalid_award", "Award has expired", "id"),
    "award_stamps_spent": Refusal(
        "insufficient_stamps", "The member no longer holds the stamps of this award", None
    ),
    "redemption_not_found": Refusal("not_found", "Redemption not found", "id", NOT_FOUND),
    "redemption_canceled": Refusal(REDEMPTION_REFUSED, "Redemption is already canceled", "id"),
    "transaction_not_found": Refusal("not_found", "Transaction not found", "id", NOT_FOUND),
    "transaction_canceled": Refusal("invalid_transaction", "Transaction is already canceled", "id"),
    "transaction_stamps_spent": Refusal(
        "invalid_transaction", "Transaction can't be canceled due to insufficient Stamps", "id"
    ),
    # what the redemption endpoints call a refusal the ledger names for the stamps endpoints
    "customer_not_found": Refusal("invalid_data", "Customer not found", "customer"),
    "customer_blocked": Refusal("membership_blocked", "This membership is blocked", "customer"),
}


class LedgerRefusal(DomainError):
    """A refusal from the registry; `ledger_code` is the code the database returned."""

    def __init__(self, ledger_code: str, detail: str | None = None) -> None:
        refusal = REFUSALS[ledger_code]
        super().__init__(refusal.message.format(detail=detail), field=refusal.field)
        self.ledger_code = ledger_code
        self.code = refusal.error_code
        self.status_code = refusal.status
