"""The simulator's records, as plain data that the routes turn into Kalshi's JSON.

Prices are whole cents (1-99) of the YES side, as Kalshi quotes them; a NO price is
``100 - yes_price``. A position counts YES contracts positive and NO contracts negative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

Side = Literal["yes", "no"]
Action = Literal["buy", "sell"]

CONTRACT_CENTS: Final = 100
MIN_PRICE: Final = 1
MAX_PRICE: Final = 99
SIDES: Final = ("yes", "no")
ACTIONS: Final = ("buy", "sell")
# The market makers' orders: an account the simulator itself holds, with no balance limit.
HOUSE: Final = "house"


def other(side: str) -> Side:
    return "no" if side == "yes" else "yes"


@dataclass(frozen=True)
class Market:
    """One binary market; its book lives in :class:`~.book.Book`."""

    ticker: str
    event_ticker: str
    title: str
    close_time: str

    def as_json(self, quotes: dict[str, int | None]) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "event_ticker": self.event_ticker,
            "title": self.title,
            "status": "active",
            "market_type": "binary",
            "close_time": self.close_time,
            **quotes,
        }


@dataclass
class Order:
    """A user's (or the house's) order; ``remaining`` rests on the book while ``resting``."""

    order_id: str
    account: str
    ticker: str
    side: Side
    action: Action
    price: int  # of ``side``, in cents
    count: int
    client_order_id: str
    created_time: str
    remaining: int = 0
    filled: int = 0
    status: str = "resting"

    def __post_init__(self) -> None:
        self.remaining = self.count

    @property
    def book_side(self) -> Side:
        """The side whose bids this order joins: selling YES is bidding for NO, and so on."""
        return self.side if self.action == "buy" else other(self.side)

    @property
    def book_price(self) -> int:
        return self.price if self.action == "buy" else CONTRACT_CENTS - self.price

    @property
    def yes_price(self) -> int:
        return self.price if self.side == "yes" else CONTRACT_CENTS - self.price

    def as_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "client_order_id": self.client_order_id,
            "ticker": self.ticker,
            "side": self.side,
            "action": self.action,
            "type": "limit",
            "status": self.status,
            "yes_price": self.yes_price,
            "no_price": CONTRACT_CENTS - self.yes_price,
            "initial_count": self.count,
            "remaining_count": self.remaining,
            "fill_count": self.filled,
            "created_time": self.created_time,
        }


@dataclass(frozen=True)
class Fill:
    """One account's side of a trade."""

    trade_id: str
    order_id: str
    account: str
    ticker: str
    side: Side
    action: Action
    count: int
    yes_price: int
    is_taker: bool
    created_time: str
    ts: int

    def as_json(self) -> dict[str, Any]:
        return {
            "trade_id": self.trade_id,
            "order_id": self.order_id,
            "ticker": self.ticker,
            "market_ticker": self.ticker,
            "side": self.side,
            "action": self.action,
            "count": self.count,
            "yes_price": self.yes_price,
            "no_price": CONTRACT_CENTS - self.yes_price,
            "is_taker": self.is_taker,
            "created_time": self.created_time,
            "ts": self.ts,
        }


@dataclass
class Account:
    """A trader's cash and positions; each registered key trades for its own account."""

    balance: int
    positions: dict[str, int] = field(default_factory=dict)
    traded: dict[str, int] = field(default_factory=dict)
    cost: dict[str, int] = field(default_factory=dict)
