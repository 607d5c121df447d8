"""``%wd unlock | lock | connections --all`` (watchdog_lab/ipython/vault_commands.py) and the
help (watchdog_lab/ipython/commands.py), in real kernels of the test server."""

from __future__ import annotations

import json
import time

from tests.server.kernels import GRANT_PASSWORD as PASSWORD
from tests.server.kernels import GRANT_SECRET as SECRET

from .test_magics import loaded, refusal


async def test_wd_unlock_asks_for_the_password_in_a_password_field(
    kernels, kalshi, watchdog_app
) -> None:
    watchdog_app.vault.lock()
    kernel = await loaded(kernels)
    out = (await kernel.run("%wd unlock", stdin=[PASSWORD])).check()
    (prompt,) = out.stdin_prompts
    assert prompt["content"]["password"] is True
    assert watchdog_app.vault.state.value == "unlocked"
    assert "unlocked" in out.stdout and PASSWORD not in out.everything


async def test_wd_unlock_with_a_wrong_password_leaves_the_vault_locked(
    kernels, kalshi, watchdog_app
) -> None:
    watchdog_app.vault.lock()
    kernel = await loaded(kernels)
    out = await kernel.run("%wd unlock", stdin=["not the vault password"])
    assert "Wrong vault password" in refusal(out)
    assert watchdog_app.vault.state.value == "locked"


async def test_wd_unlock_asks_for_the_two_factor_code_when_it_is_on(
    kernels, kalshi, watchdog_app
) -> None:
    import pyotp

    vault = watchdog_app.vault
    enrolment = vault.begin_totp(PASSWORD)
    seed = enrolment.secret.get_secret_value()
    vault.enable_totp(PASSWORD, seed, pyotp.TOTP(seed).now())
    vault.lock()
    kernel = await loaded(kernels)
    # The next step's code: the one that enabled two-factor is spent (no replay).
    code = pyotp.TOTP(seed).at(time.time() + 30)
    out = (await kernel.run("%wd unlock", stdin=[code, PASSWORD])).check()
    assert [p["content"]["password"] for p in out.stdin_prompts] == [False, True]
    assert vault.state.value == "unlocked"


async def test_wd_lock_locks_the_vault(kernels, kalshi, watchdog_app) -> None:
    kernel = await loaded(kernels)
    out = (await kernel.run("%wd lock")).check()
    assert "locked" in out.stdout and watchdog_app.vault.state.value == "locked"


async def test_wd_connections_all_lists_every_connection_masked(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    out = (await kernel.run("%wd connections --all")).check()
    assert "Kalshi" in out.stdout and SECRET not in out.everything


async def test_wd_help_of_one_command_shows_its_usage_and_details(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    out = (await kernel.run("%wd help logs")).check()
    assert "%wd logs BOT [-n N] [--follow]" in out.stdout


async def test_wd_help_of_an_unknown_command_is_one_line(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    assert "No %wd command 'nope'" in refusal(await kernel.run("%wd help nope"))


async def test_the_magics_docstring_is_the_whole_help(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    doc = await kernel.value("get_ipython().find_line_magic('wd').__doc__")
    for synopsis in ("%wd connect NAME", "%wd promote", "%wd logs BOT", "%wd panel"):
        assert synopsis in doc, json.dumps(doc)
