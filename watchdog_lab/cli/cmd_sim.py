"""``sim kalshi``: a local simulated Kalshi exchange (see :mod:`watchdog_lab.sim`); no vault.

It serves until interrupted. The public keys it accepts come from ``--public-key`` files or from
``POST /api_keys``; it never sees a private key.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from ..errors import InputFileError
from ..files import read_regular_file
from ..kinds.kalshi import REST_PATH_PREFIX, SIM_DEFAULT_HOST, SIM_DEFAULT_PORT, WS_PATH
from ..sim.auth import TIMESTAMP_WINDOW_MS
from ..sim.book import DEFAULT_BALANCE_CENTS, DEFAULT_MARKETS
from ..sim.errors import SimError, SimulatorConfigError
from .errors import InvalidInput
from .session import Context

MAX_KEY_FILE_BYTES = 16_384


def _read_public_key(path: str) -> str:
    try:
        data = read_regular_file(path, MAX_KEY_FILE_BYTES, "--public-key")
    except InputFileError as exc:
        raise InvalidInput(str(exc)) from None
    return data.decode("ascii", errors="replace")


def run_kalshi(ctx: Context, args: argparse.Namespace) -> int:
    from ..sim.app import Simulator

    try:
        sim = Simulator(
            seed=args.seed,
            markets=args.markets,
            starting_balance=args.balance,
            window_ms=TIMESTAMP_WINDOW_MS,
        )
        registered = []
        for path in args.public_key or []:
            try:
                registered.append((path, sim.keys.register(_read_public_key(path))))
            except SimError as exc:
                raise InvalidInput(f"--public-key {path}: {exc.message}.") from None
        asyncio.run(_serve(ctx, sim, args.host, args.port, registered))
    except SimulatorConfigError as exc:
        raise InvalidInput(str(exc)) from None
    return 0


async def _serve(
    ctx: Context, sim: Any, host: str, port: int, registered: list[tuple[str, str]]
) -> None:
    from ..sim.app import listen

    server, bound = listen(sim, host, port)
    where = f"{host}:{bound}" if ":" not in host else f"[{host}]:{bound}"
    ctx.console.out(f"Kalshi simulator (seed {sim.seed}) on http://{where}{REST_PATH_PREFIX}")
    ctx.console.out(f"WebSocket: ws://{where}{WS_PATH}")
    ctx.console.out(f"Markets: {', '.join(sim.exchange.markets)}")
    for path, key_id in registered:
        ctx.console.out(f"Key {key_id} from {path}")
    ctx.console.out(
        f"In a notebook: conn.api_endpoint(host='http://{where}'); register a key with "
        f"POST {REST_PATH_PREFIX}/api_keys. Ctrl-C stops it."
    )
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a whole number") from None


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: dict[str, argparse.ArgumentParser],
) -> None:
    group = sub.add_parser("sim", help="run a local simulated exchange")
    ssub = group.add_subparsers(dest="exchange", required=True, metavar="EXCHANGE")
    kalshi = ssub.add_parser(
        "kalshi",
        help="a Kalshi-compatible exchange on 127.0.0.1 (play money)",
        description=(
            "Serve Kalshi's trade API v2 (markets, order books, orders, fills, balance, "
            "positions, the WebSocket) on this machine, checking every signature as Kalshi "
            "does. The same --seed gives the same markets and book."
        ),
    )
    kalshi.add_argument("--host", default=SIM_DEFAULT_HOST, help="loopback address to listen on")
    kalshi.add_argument(
        "--port", type=int, default=SIM_DEFAULT_PORT, help="port (0 picks a free one)"
    )
    kalshi.add_argument("--seed", type=_seed, default=0, help="decides markets and the book")
    kalshi.add_argument("--markets", type=int, default=DEFAULT_MARKETS, help="how many markets")
    kalshi.add_argument(
        "--balance",
        type=int,
        default=DEFAULT_BALANCE_CENTS,
        help="each key's starting balance, in cents",
    )
    kalshi.add_argument(
        "--public-key",
        metavar="FILE",
        action="append",
        help=(
            "accept this RSA public key (PEM); may be given more than once. Its key id is "
            "printed, and is the same on every run with the same seed and files"
        ),
    )
    kalshi.set_defaults(handler=run_kalshi)
