"""Make the demo vault of the Binder image (and of the example tests): a vault with one Kalshi
connection whose key was made inside it, for the local simulator.

Every step is a ``watchdog-lab`` command a user could type; the only thing computed here is the
key id the simulator will give the public key, which its seed decides (the simulator hands out
ids from the seed's generator, so the same seed and key file give the same id on every start).

Written to ``--demo-dir`` (0700):

- ``password.txt``: the vault password (a fresh random one; the welcome notebook shows it);
- ``kalshi-sim.pub``: the public half of the connection's key, for ``--public-key``;
- ``simulator.args``: the arguments of ``watchdog-lab sim kalshi``, one per line, which
  ``binder/start`` reads.

``WATCHDOG_LAB_DEMO_DIR`` and ``WATCHDOG_LAB_DEMO_PORT`` change the defaults of ``--demo-dir``
and ``--port`` (``binder/start`` reads the same folder). It also allows bots to connect to the
simulator's port (``c.WatchdogLab.bot_connect_ports`` in ``jupyter_watchdog_lab_config.json`` of
the Jupyter config folder). Running it again reuses what is there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

DEFAULT_PORT = 8989
DEFAULT_SEED = 1
DEFAULT_CONNECTION = "KalshiSim"
#: Where a bot may connect besides the simulator: the exchanges' HTTPS and HTTP.
STANDARD_PORTS = (443, 80)
PUBLIC_KEY = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----\n", re.S)
CONFIG_FILE = "jupyter_watchdog_lab_config.json"


class DemoSetupError(RuntimeError):
    """A step of the set-up failed; the message names the command and what it said."""


def _cli(args: list[str], password_file: Path, stdin: str | None = None) -> str:
    command = [sys.executable, "-m", "watchdog_lab.cli", "--password-file", str(password_file)]
    done = subprocess.run(
        [*command, *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise DemoSetupError(f"watchdog-lab {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout


def _home() -> Path:
    from watchdog_lab.paths import home_dir

    return home_dir()


def _key_id(public_pem: str, seed: int) -> str:
    """The id the simulator gives this key when it is the first ``--public-key`` it reads."""
    from watchdog_lab.sim.app import Simulator

    return Simulator(seed=seed).keys.register(public_pem)


def _allow_port(port: int) -> Path:
    from jupyter_core.paths import jupyter_config_dir

    folder = Path(jupyter_config_dir())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CONFIG_FILE
    config = json.loads(path.read_text()) if path.exists() else {}
    section = config.setdefault("WatchdogLab", {})
    ports = [int(p) for p in section.get("bot_connect_ports", STANDARD_PORTS)]
    section["bot_connect_ports"] = sorted({*ports, port})
    path.write_text(json.dumps(config, indent=1) + "\n")
    return path


def setup(demo_dir: Path, port: int, seed: int, connection: str) -> dict[str, str]:
    demo_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    password_file = demo_dir / "password.txt"
    public_file = demo_dir / "kalshi-sim.pub"
    if not password_file.exists():
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(12) + "\n")
    if not (_home() / "vault.db").exists():
        _cli(["init"], password_file)
    if not public_file.exists():
        printed = _cli(
            ["connections", "add", connection, "--kind", "kalshi", "--generate-key"],
            password_file,
        )
        found = PUBLIC_KEY.search(printed)
        if found is None:
            raise DemoSetupError("`connections add --generate-key` printed no public key.")
        public_file.write_text(found.group(0))
    key_id = _key_id(public_file.read_text(), seed)
    update = json.dumps({"fields": {"api_key_id": key_id}})
    _cli(["connections", "update", connection, "--from-json", "-"], password_file, stdin=update)
    args = ["--port", str(port), "--seed", str(seed), "--public-key", str(public_file)]
    (demo_dir / "simulator.args").write_text("\n".join(args) + "\n")
    config = _allow_port(port)
    return {
        "home": str(_home()),
        "connection": connection,
        "key_id": key_id,
        "simulator": f"http://127.0.0.1:{port}",
        "password_file": str(password_file),
        "config": str(config),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_dir = Path(os.environ.get("WATCHDOG_LAB_DEMO_DIR", "~/.watchdog-lab-demo"))
    parser.add_argument("--demo-dir", type=Path, default=default_dir.expanduser())
    default_port = int(os.environ.get("WATCHDOG_LAB_DEMO_PORT", DEFAULT_PORT))
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--connection", default=DEFAULT_CONNECTION)
    args = parser.parse_args(argv)
    try:
        facts = setup(args.demo_dir, args.port, args.seed, args.connection)
    except DemoSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(facts, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
