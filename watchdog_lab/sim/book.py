"""The matching engine: markets, resting orders in price-time priority, fills and accounts.

Kalshi keeps one book of bids per side: buying YES at ``p`` bids on YES; selling YES at ``p``
is bidding ``100 - p`` for NO. A YES bid and a NO bid cross when their prices add up to 100 or
more; the trade happens at the resting order's price, so the taker may pay less than its limit.
Each side pays its own price per contract; a YES and a NO contract held together are worth 100
cents, so buying the opposite of what an account holds pays the pair back at once (that is how
selling works).

Everything a seed decides (markets, the market makers' initial book, ids) comes from one
``random.Random(seed)``, so two simulators with the same seed start identical.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .errors import BadRequest, InsufficientBalance, NotFound
from .models import (
    ACTIONS,
    CONTRACT_CENTS,
    HOUSE,
    MAX_PRICE,
    MIN_PRICE,
    SIDES,
    Account,
    Fill,
    Market,
    Order,
    Side,
    other,
)

DEFAULT_MARKETS: Final = 5
DEFAULT_BALANCE_CENTS: Final = 100_000  # $1,000 per account
MAX_ORDER_COUNT: Final = 1_000_000
BOOK_LEVELS: Final = 5
_SUBJECTS: Final = ("RAIN", "TEMP", "CPI", "GDP", "RATE", "SNOW", "VOTE", "GAS")
_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BookDelta:
    """A change of the quantity resting at one price of one side (``orderbook_delta``)."""

    ticker: str
    side: Side
    price: int
    delta: int


Listener = Callable[[BookDelta | Fill], None]


def _now() -> tuple[str, int]:
    moment = datetime.now(UTC)
    return moment.isoformat().replace("+00:00", "Z"), int(moment.timestamp())


class Exchange:
    """The simulated exchange's whole state; one event loop drives it, so it takes no locks."""

    def __init__(
        self,
        seed: int,
        markets: int = DEFAULT_MARKETS,
        starting_balance: int = DEFAULT_BALANCE_CENTS,
    ) -> None:
        # Not for secrets: the point is that a seed replays the same market.
        self._rng = random.Random(seed)  # noqa: S311
        self.starting_balance = starting_balance
        self.markets: dict[str, Market] = {}
        self.orders: dict[str, Order] = {}
        self.fills: list[Fill] = []
        self.accounts: dict[str, Account] = {}
        self.last_price: dict[str, int] = {}
        self.volume: dict[str, int] = {}
        # ticker -> side -> resting orders, best first (highest price, then oldest).
        self._bids: dict[str, dict[str, list[Order]]] = {}
        self.listeners: list[Listener] = []
        self._open_markets(markets)

    # --- set-up ---------------------------------------------------------------------------

    def new_id(self) -> str:
        """A UUID drawn from the seed's generator: ids repeat from one run to the next."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _open_markets(self, count: int) -> None:
        subjects = self._rng.sample(_SUBJECTS, k=min(count, len(_SUBJECTS)))
        for index in range(count):
            subject = subjects[index % len(subjects)]
            close = _EPOCH + timedelta(days=self._rng.randint(30, 365))
            event = f"SIM{subject}-{close:%y%b%d}".upper()
            strike = self._rng.randint(10, 90)
            ticker = f"{event}-T{strike}{'' if index < len(subjects) else index}"
            self.markets[ticker] = Market(
                ticker=ticker,
                event_ticker=event,
                title=f"Will the simulated {subject.lower()} index close above {strike}?",
                close_time=close.isoformat().replace("+00:00", "Z"),
            )
            self._bids[ticker] = {side: [] for side in SIDES}
            mid = self._rng.randint(20, 80)
            stamp, _ = _now()
            for level in range(1, BOOK_LEVELS + 1):
                for side, price in (("yes", mid - level), ("no", CONTRACT_CENTS - mid - level)):
                    order = Order(
                        order_id=self.new_id(),
                        account=HOUSE,
                        ticker=ticker,
                        side=side,  # type: ignore[arg-type]  # one of SIDES
                        action="buy",
                        price=price,
                        count=self._rng.randint(10, 200),
                        client_order_id="",
                        created_time=stamp,
                    )
                    self._rest(order)

    def account(self, name: str) -> Account:
        """The account of one key, opened with the starting balance on first use."""
        if name not in self.accounts:
            self.accounts[name] = Account(balance=self.starting_balance)
        return self.accounts[name]

    # --- reading --------------------------------------------------------------------------

    def market(self, ticker: str) -> Market:
        found = self.markets.get(ticker)
        if found is None:
            raise NotFound(f"market {ticker[:64]!r} not found")
        return found

    def levels(self, ticker: str, side: str) -> list[list[int]]:
        """``[[price, quantity], ...]`` of one side, lowest price first, as Kalshi lists them."""
        totals: dict[int, int] = {}
        for order in self._bids[self.market(ticker).ticker][side]:
            totals[order.book_price] = totals.get(order.book_price, 0) + order.remaining
        return [[price, totals[price]] for price in sorted(totals)]

    def quotes(self, ticker: str) -> dict[str, int | None]:
        best = {side: self._best(ticker, side) for side in SIDES}
        return {
            "yes_bid": best["yes"],
            "yes_ask": None if best["no"] is None else CONTRACT_CENTS - best["no"],
            "no_bid": best["no"],
            "no_ask": None if best["yes"] is None else CONTRACT_CENTS - best["yes"],
            "last_price": self.last_price.get(ticker),
            "volume": self.volume.get(ticker, 0),
        }

    def _best(self, ticker: str, side: str) -> int | None:
        bids = self._bids[ticker][side]
        return bids[0].book_price if bids else None

    def mark(self, ticker: str) -> int:
        """A YES price to value positions at: the last trade, else the middle of the book."""
        if ticker in self.last_price:
            return self.last_price[ticker]
        quotes = self.quotes(ticker)
        bid, ask = quotes["yes_bid"], quotes["yes_ask"]
        if bid is not None and ask is not None:
            return (bid + ask) // 2
        return CONTRACT_CENTS // 2

    def portfolio_value(self, name: str) -> int:
        value = 0
        for ticker, position in self.account(name).positions.items():
            yes = self.mark(ticker)
            value += position * yes if position > 0 else -position * (CONTRACT_CENTS - yes)
        return value

    # --- trading --------------------------------------------------------------------------

    def place(
        self,
        account: str,
        ticker: str,
        side: str,
        action: str,
        count: int,
        price: int,
        client_order_id: str = "",
    ) -> Order:
        """Place a limit order: it trades against what it crosses, the rest rests."""
        self.market(ticker)
        if side not in SIDES or action not in ACTIONS:
            raise BadRequest("side must be yes or no, and action buy or sell")
        if (
            not isinstance(count, int)
            or isinstance(count, bool)
            or not 1 <= count <= MAX_ORDER_COUNT
        ):
            raise BadRequest(f"count must be a whole number from 1 to {MAX_ORDER_COUNT}")
        if (
            not isinstance(price, int)
            or isinstance(price, bool)
            or not MIN_PRICE <= price <= MAX_PRICE
        ):
            raise BadRequest(f"price must be whole cents from {MIN_PRICE} to {MAX_PRICE}")
        stamp, _ = _now()
        order = Order(
            order_id=self.new_id(),
            account=account,
            ticker=ticker,
            side=side,  # type: ignore[arg-type]  # checked above
            action=action,  # type: ignore[arg-type]  # checked above
            price=price,
            count=count,
            client_order_id=client_order_id,
            created_time=stamp,
        )
        wallet = self.account(account)
        if wallet.balance < order.book_price * count:
            raise InsufficientBalance(
                f"the order needs {order.book_price * count} cents; the balance is {wallet.balance}"
            )
        self.orders[order.order_id] = order
        self._match(order)
        if order.remaining:
            self._rest(order)
            self._emit(BookDelta(ticker, order.book_side, order.book_price, order.remaining))
        else:
            order.status = "executed"
        return order

    def cancel(self, account: str, order_id: str) -> tuple[Order, int]:
        """Take an account's resting order off the book; returns it and how much was left."""
        order = self.orders.get(order_id)
        if order is None or order.account != account:
            raise NotFound(f"order {order_id[:64]!r} not found")
        reduced = order.remaining
        if order.status == "resting":
            self._bids[order.ticker][order.book_side].remove(order)
            self._emit(BookDelta(order.ticker, order.book_side, order.book_price, -reduced))
        order.status = "canceled"
        order.remaining = 0
        return order, reduced

    def _rest(self, order: Order) -> None:
        bids = self._bids[order.ticker][order.book_side]
        at = next(
            (i for i, resting in enumerate(bids) if resting.book_price < order.book_price),
            len(bids),
        )
        bids.insert(at, order)

    def _match(self, taker: Order) -> None:
        resting_side = self._bids[taker.ticker][other(taker.book_side)]
        while taker.remaining and resting_side:
            maker = resting_side[0]
            if taker.book_price + maker.book_price < CONTRACT_CENTS:
                break
            count = min(taker.remaining, maker.remaining)
            maker_pays = maker.book_price
            taker_pays = CONTRACT_CENTS - maker_pays
            yes_price = maker_pays if maker.book_side == "yes" else taker_pays
            for order, pays, is_taker in ((maker, maker_pays, False), (taker, taker_pays, True)):
                order.remaining -= count
                order.filled += count
                self._settle(order, pays, count, yes_price, is_taker)
            if not maker.remaining:
                maker.status = "executed"
                resting_side.pop(0)
            self._emit(BookDelta(taker.ticker, maker.book_side, maker.book_price, -count))
            self.last_price[taker.ticker] = yes_price
            self.volume[taker.ticker] = self.volume.get(taker.ticker, 0) + count

    def _settle(self, order: Order, pays: int, count: int, yes_price: int, is_taker: bool) -> None:
        if order.account == HOUSE:
            return
        wallet = self.account(order.account)
        before = wallet.positions.get(order.ticker, 0)
        change = count if order.book_side == "yes" else -count
        # A YES and a NO held together pay 100 cents: buying against a position closes it.
        paired = min(abs(before), count) if before * change < 0 else 0
        wallet.balance += paired * CONTRACT_CENTS - pays * count
        wallet.positions[order.ticker] = before + change
        wallet.traded[order.ticker] = wallet.traded.get(order.ticker, 0) + pays * count
        stamp, seconds = _now()
        fill = Fill(
            trade_id=self.new_id(),
            order_id=order.order_id,
            account=order.account,
            ticker=order.ticker,
            side=order.side,
            action=order.action,
            count=count,
            yes_price=yes_price,
            is_taker=is_taker,
            created_time=stamp,
            ts=seconds,
        )
        self.fills.append(fill)
        self._emit(fill)

    def _emit(self, event: BookDelta | Fill) -> None:
        for listener in list(self.listeners):
            listener(event)

    # --- snapshots for the routes -----------------------------------------------------------

    def positions_json(self, name: str) -> list[dict[str, Any]]:
        wallet = self.account(name)
        resting = [o for o in self.orders.values() if o.account == name and o.status == "resting"]
        return [
            {
                "ticker": ticker,
                "position": position,
                "market_exposure": abs(position)
                * (self.mark(ticker) if position > 0 else CONTRACT_CENTS - self.mark(ticker)),
                "total_traded": wallet.traded.get(ticker, 0),
                "resting_orders_count": sum(1 for o in resting if o.ticker == ticker),
                "realized_pnl": 0,
                "fees_paid": 0,
                "last_updated_ts": datetime.fromtimestamp(time.time(), UTC)
                .isoformat()
                .replace("+00:00", "Z"),
            }
            for ticker, position in sorted(wallet.positions.items())
        ]
