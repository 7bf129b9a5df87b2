"""Sandbox accounts, prices and ClickSend's published test numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# ClickSend's documented test numbers: "No messages will be sent, and your
# account won't be charged. A success response will be returned."
TEST_NUMBERS: frozenset[str] = frozenset(
    {
        "+61411111111",
        "+61422222222",
        "+61433333333",
        "+61444444444",
        "+14055555555",
        "+14055555666",
        "+447777777777",
        "+8615555555555",
    }
)

# ClickSend's shared API key of the test accounts nocredit, notactive and banned.
TEST_ACCOUNT_KEY = "D83DED51-9E35-4D42-9BB9-0E34B7CA85AE"

DEFAULT_USERNAME = "demo-user"
DEFAULT_API_KEY = "demo-key"

# Price of one message part in AUD. ClickSend's rates are account specific and
# not public, so these are plausible values, not ClickSend's.
DEFAULT_PRICES: dict[str, Decimal] = {
    "AU": Decimal("0.0792"),
    "NZ": Decimal("0.1100"),
    "GB": Decimal("0.0850"),
    "US": Decimal("0.0350"),
    "CA": Decimal("0.0350"),
}
# Rate for an enabled country missing from `prices`.
FALLBACK_RATE = Decimal("0.1500")
DEFAULT_ENABLED_COUNTRIES: frozenset[str] = frozenset(DEFAULT_PRICES)
DEFAULT_APPROVED_SENDERS: frozenset[str] = frozenset({"SMSDESK", "ACMEPLUMB"})

# Shared system numbers the sandbox uses as `from` when a send names no sender.
# All are in ranges reserved for fiction (ACMA, Ofcom, NANP 555-01xx).
SHARED_NUMBERS: dict[str, str] = {
    "AU": "+61491570006",
    "NZ": "+6421555123",
    "GB": "+447700900000",
    "US": "+12025550100",
    "CA": "+12025550100",
}

# ACMA's range for fiction, 0491 570 006 to 0491 570 159, in E.164.
FICTIONAL_AU_NUMBERS: tuple[str, ...] = tuple(f"+61491570{n:03d}" for n in range(6, 160))

# Ofcom's mobile range for drama, 07700 900000 to 07700 900999.
FICTIONAL_GB_NUMBERS: tuple[str, ...] = tuple(f"+447700900{n:03d}" for n in range(1000))


def fictional_numbers(count: int) -> list[str]:
    """Return `count` distinct numbers reserved for fiction: AU first, then GB, then US.

    Past the AU and GB ranges come NANP numbers 555-0100 to 555-0199, which
    are fictional in every area code (201, 202, ...); up to 80,000 more.
    """
    numbers = list(FICTIONAL_AU_NUMBERS + FICTIONAL_GB_NUMBERS)[:count]
    area_code = 201
    while len(numbers) < count:
        if area_code > 999:
            raise ValueError(f"only {len(numbers)} fictional numbers are available, not {count}")
        remaining = count - len(numbers)
        numbers += [f"+1{area_code}5550{line}" for line in range(100, 200)][:remaining]
        area_code += 1
    return numbers

STATUS_ACTIVE = "active"
STATUS_NOT_ACTIVE = "notactive"
STATUS_BANNED = "banned"


@dataclass
class Account:
    """One ClickSend account: Basic auth credentials, credit and sending rules."""

    username: str
    api_key: str = field(repr=False)
    balance: Decimal = Decimal("100.0000")
    status: str = STATUS_ACTIVE
    user_id: int = 518988
    subaccount_id: int = 589721
    prices: dict[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    enabled_countries: frozenset[str] = DEFAULT_ENABLED_COUNTRIES
    # None accepts any well-formed alpha tag; a set accepts only those tags.
    approved_senders: frozenset[str] | None = DEFAULT_APPROVED_SENDERS

    def to_dict(self) -> dict:
        return {
            "username": self.username,
            "api_key": self.api_key,
            "balance": str(self.balance),
            "status": self.status,
            "user_id": self.user_id,
            "subaccount_id": self.subaccount_id,
            "prices": {country: str(rate) for country, rate in self.prices.items()},
            "enabled_countries": sorted(self.enabled_countries),
            "approved_senders": (
                None if self.approved_senders is None else sorted(self.approved_senders)
            ),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Account:
        approved = data.get("approved_senders")
        return cls(
            username=data["username"],
            api_key=data["api_key"],
            balance=Decimal(data["balance"]),
            status=data["status"],
            user_id=data["user_id"],
            subaccount_id=data["subaccount_id"],
            prices={country: Decimal(rate) for country, rate in data["prices"].items()},
            enabled_countries=frozenset(data["enabled_countries"]),
            approved_senders=None if approved is None else frozenset(approved),
        )

    def rate_for(self, country: str) -> Decimal:
        """Return the price of one part to `country`, with a fallback for countries without a rate."""
        return self.prices.get(country, FALLBACK_RATE)

    def approves_sender(self, tag: str) -> bool:
        if self.approved_senders is None:
            return True
        return tag.upper() in {sender.upper() for sender in self.approved_senders}


def default_accounts() -> dict[str, Account]:
    """Return the demo account plus ClickSend's three documented test accounts."""
    accounts = [
        Account(username=DEFAULT_USERNAME, api_key=DEFAULT_API_KEY),
        Account(
            username="nocredit",
            api_key=TEST_ACCOUNT_KEY,
            balance=Decimal("0"),
            user_id=518990,
            subaccount_id=589722,
        ),
        Account(
            username="notactive",
            api_key=TEST_ACCOUNT_KEY,
            status=STATUS_NOT_ACTIVE,
            user_id=518991,
            subaccount_id=589723,
        ),
        Account(
            username="banned",
            api_key=TEST_ACCOUNT_KEY,
            status=STATUS_BANNED,
            user_id=518992,
            subaccount_id=589724,
        ),
    ]
    return {account.username: account for account in accounts}
