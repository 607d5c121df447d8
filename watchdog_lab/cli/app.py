"""The ``watchdog-lab`` parser and the one place where failures become messages and exit codes.

Exit codes: 0 success, 1 a refusal the user can act on (one ``error:`` line, no traceback),
2 a usage error, 130 interrupted, 70 a bug (a redacted traceback only with
``WATCHDOG_LAB_DEBUG=1``). No option takes a password or a secret: argv is readable by every
user of the machine.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import traceback
from collections.abc import Sequence

from pydantic import ValidationError

from .._version import __version__
from ..aifix import AIFixError
from ..backup import BackupError
from ..bots.errors import BotError
from ..errors import InvalidSetting
from ..settings import load_settings
from ..sync import SyncError
from ..vault import VaultError
from . import (
    cmd_audit,
    cmd_backup,
    cmd_bots,
    cmd_connections,
    cmd_doctor,
    cmd_sim,
    cmd_sync,
    cmd_vault,
)
from .console import Console
from .errors import EXIT_ERROR, EXIT_INTERRUPTED, CliError
from .passwords import NEW_PASSWORD_ENV, PASSWORD_ENV, TOTP_ENV
from .session import Context

EXIT_BUG = 70
DEBUG_ENV = "WATCHDOG_LAB_DEBUG"

EPILOG = f"""\
passwords and codes are never options. They come from --password-file FILE (first line), the
{PASSWORD_ENV} environment variable (for automation; {NEW_PASSWORD_ENV} for the new one in
`password change`), or a hidden prompt when standard input is a terminal. Two-factor codes come
from a prompt or {TOTP_ENV}. WATCHDOG_LAB_HOME sets the data folder (default ~/.watchdog-lab).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watchdog-lab",
        description="WatchDog Lab on a headless machine: the encrypted vault of connections.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"watchdog-lab {__version__}")
    parser.add_argument("--home", metavar="PATH", help="data folder (overrides WATCHDOG_LAB_HOME)")
    parser.add_argument(
        "--password-file", metavar="FILE", help="read the vault password from FILE's first line"
    )
    # The same options after the subcommand; SUPPRESS keeps a value given before it.
    home = argparse.ArgumentParser(add_help=False)
    home.add_argument(
        "--home",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="data folder (overrides WATCHDOG_LAB_HOME)",
    )
    password = argparse.ArgumentParser(add_help=False)
    password.add_argument(
        "--password-file",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="read the vault password from FILE's first line",
    )
    parents = {"home": home, "password": password}
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmd_vault.register(sub, parents)
    cmd_connections.register(sub, parents)
    cmd_audit.register(sub, parents)
    cmd_doctor.register(sub, parents)
    cmd_bots.register(sub, parents)
    cmd_backup.register(sub, parents)
    cmd_sync.register(sub, parents)
    cmd_sim.register(sub, parents)
    return parser


def _unexpected(console: Console, exc: BaseException) -> int:
    console.error(
        f"unexpected failure ({type(exc).__name__}); this is a bug in watchdog-lab. Run again "
        f"with {DEBUG_ENV}=1 to see the (redacted) traceback."
    )
    if os.environ.get(DEBUG_ENV) == "1":
        console.note(traceback.format_exc())
    return EXIT_BUG


def main(argv: Sequence[str] | None = None) -> int:
    console = Console()
    try:
        args = build_parser().parse_args(argv)
        ctx = Context(console, args.home, args.password_file, load_settings())
        return int(args.handler(ctx, args) or 0)
    except KeyboardInterrupt:
        console.note("\ninterrupted; nothing more was changed.")
        return EXIT_INTERRUPTED
    except CliError as exc:
        console.error(str(exc))
        return exc.exit_code
    except InvalidSetting as exc:
        console.error(f"{exc} Fix it in your Jupyter config (see `jupyter --paths`).")
        return EXIT_ERROR
    except (VaultError, BotError, AIFixError, BackupError, SyncError) as exc:
        console.error(str(exc))
        return EXIT_ERROR
    except ValidationError as exc:
        console.error(
            f"the input was refused ({exc.error_count()} problem(s) in its structure); "
            "no values are shown."
        )
        return EXIT_ERROR
    except sqlite3.OperationalError as exc:
        console.error(f"the vault database could not be used ({exc}).")
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader of our output went away (`| head`): nothing left to tell anyone.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces a dead stream
        return EXIT_ERROR
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        console.error(f"cannot access{where}: {exc.strerror or type(exc).__name__}.")
        return EXIT_ERROR
    except Exception as exc:
        return _unexpected(console, exc)
