"""``%wd`` magics (watchdog_lab/ipython/magics.py) in real kernels started by the test server.

The password for ``%wd connect`` is typed the way JupyterLab sends it: the kernel sends an
``input_request`` on its stdin channel and the test answers with an ``input_reply``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.server.kernels import GRANT_NOTEBOOK as NOTEBOOK
from tests.server.kernels import GRANT_PASSWORD as PASSWORD
from tests.server.kernels import GRANT_SECRET_DIGEST as SECRET_DIGEST
from watchdog_lab.vault import CreateConnection, KdfParams, Vault


async def loaded(kernels: Any) -> Any:
    """A notebook kernel with ``%load_ext watchdog_lab`` done."""
    kernel = await kernels.start(NOTEBOOK)
    (await kernel.run("%load_ext watchdog_lab")).check()
    return kernel


def refusal(execution: Any) -> str:
    """The text of the UsageError the magic raised: one line, no traceback, and the cell
    counts as failed (a "run all" stops there)."""
    assert execution.status == "error", execution.stdout
    assert execution.error is None  # no traceback was shown
    assert execution.stderr.startswith("UsageError: "), execution.stderr
    return str(execution.stderr)


async def test_wd_connect_grants_after_the_password_is_answered_on_stdin(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    assert not (await kernel.lookup("Kalshi"))["ok"]
    out = (await kernel.run("%wd connect Kalshi", stdin=[PASSWORD])).check()
    assert "Kalshi is granted to this notebook" in out.stdout
    assert (await kernel.lookup("Kalshi"))["digest"] == SECRET_DIGEST


async def test_the_password_is_asked_for_in_a_password_field(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    out = await kernel.run("%wd connect Kalshi", stdin=[PASSWORD])
    (prompt,) = out.stdin_prompts
    assert prompt["content"]["password"] is True
    assert "Kalshi" in prompt["content"]["prompt"]


async def test_the_password_never_appears_in_outputs_history_or_variables(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    out = (await kernel.run("%wd connect Kalshi", stdin=[PASSWORD])).check()
    (await kernel.run("%wd status")).check()
    history = await kernel.value(
        "[list(map(str, entry)) for entry in "
        "get_ipython().history_manager.get_range(raw=True, output=True)]"
    )
    namespace = await kernel.value(
        "[repr(v) for v in get_ipython().user_ns.values() if isinstance(v, (str, list, dict))]"
    )
    assert "%wd connect Kalshi" in json.dumps(history)  # the history is really there
    for text in (out.everything, json.dumps(history), json.dumps(namespace)):
        assert PASSWORD not in text


async def test_wd_connect_with_a_wrong_password_grants_nothing(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    out = await kernel.run("%wd connect Kalshi", stdin=["not the vault password"])
    assert "Wrong vault password" in refusal(out)
    assert not (await kernel.lookup("Kalshi"))["ok"]


async def test_wd_connect_on_a_locked_vault_unlocks_and_grants_with_one_password(
    kernels, kalshi, watchdog_app
) -> None:
    kernel = await loaded(kernels)
    watchdog_app.vault.lock()
    out = (await kernel.run("%wd connect Kalshi", stdin=[PASSWORD])).check()
    (prompt,) = out.stdin_prompts
    assert "locked" in prompt["content"]["prompt"] and prompt["content"]["password"] is True
    assert watchdog_app.vault.state.value == "unlocked"
    assert (await kernel.lookup("Kalshi"))["digest"] == SECRET_DIGEST


async def test_wd_connect_on_a_locked_vault_with_a_wrong_password_stays_locked(
    kernels, kalshi, watchdog_app
) -> None:
    kernel = await loaded(kernels)
    watchdog_app.vault.lock()
    out = await kernel.run("%wd connect Kalshi", stdin=["not the vault password"])
    assert "Wrong vault password" in refusal(out)
    assert watchdog_app.vault.state.value == "locked"


async def test_wd_connect_checks_the_name_before_asking_for_the_password(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    out = await kernel.run("%wd connect Kalshii", stdin=[PASSWORD])
    assert "No connection named 'Kalshii'" in refusal(out)
    assert out.stdin_prompts == []


async def test_wd_connect_without_stdin_points_to_the_sidebar(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    out = await kernel.run("%wd connect Kalshi")  # allow_stdin is false, as in papermill
    assert "sidebar" in refusal(out)
    assert not (await kernel.lookup("Kalshi"))["ok"]


async def test_wd_connections_lists_the_granted_names(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    before = (await kernel.run("%wd connections")).check()
    assert "No connection is granted" in before.stdout
    (await kernel.run("%wd connect Kalshi", stdin=[PASSWORD])).check()
    after = (await kernel.run("%wd connections")).check()
    assert after.stdout.strip() == "Kalshi (password)"


async def test_wd_revoke_withdraws_the_connection(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    (await kernel.run("%wd connect Kalshi", stdin=[PASSWORD])).check()
    out = (await kernel.run("%wd revoke Kalshi")).check()
    assert "Kalshi is revoked" in out.stdout
    assert not (await kernel.lookup("Kalshi"))["ok"]


async def test_wd_revoke_of_what_was_not_granted_says_so(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    assert "not granted" in refusal(await kernel.run("%wd revoke Kalshi"))


async def test_wd_status_shows_vault_kernel_notebook_and_grants(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    (await kernel.run("%wd connect Kalshi", stdin=[PASSWORD])).check()
    out = (await kernel.run("%wd status")).check()
    assert "vault:   unlocked" in out.stdout
    assert f"kernel:  {kernel.id} (notebook {NOTEBOOK})" in out.stdout
    assert "granted: Kalshi (password)" in out.stdout


async def test_load_ext_gives_the_notebook_wd(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    assert await kernel.value("wd.__name__") == "watchdog_lab"


async def test_load_ext_keeps_a_wd_the_notebook_already_has(kernels, kalshi) -> None:
    kernel = await kernels.start(NOTEBOOK)
    (await kernel.run("wd = 'mine'\n%load_ext watchdog_lab")).check()
    assert await kernel.value("wd") == "mine"


async def test_wd_in_a_kernel_without_a_broker_explains_why(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    (await kernel.run("import os; del os.environ['WATCHDOG_LAB_BROKER_URL']")).check()
    out = await kernel.run("%wd connect Kalshi", stdin=[PASSWORD])
    assert "not started by a Jupyter server with WatchDog Lab" in refusal(out)
    assert out.stdin_prompts == []  # no password asked for nothing


async def test_an_unknown_subcommand_shows_the_usage(kernels, kalshi) -> None:
    kernel = await loaded(kernels)
    assert "%wd connect NAME" in refusal(await kernel.run("%wd frobnicate"))


async def test_an_interrupted_connect_shows_no_password_even_in_verbose_tracebacks(
    kernels, watchdog_home, watchdog_app, jp_serverapp
) -> None:
    # Argon2 at a cost that keeps the grant in flight for about a second: time to interrupt.
    slow = KdfParams(time_cost=10, memory_kib=64 * 1024, parallelism=1)
    creator = Vault(watchdog_home, kdf=slow)
    creator.create(PASSWORD)
    creator.close()
    vault = watchdog_app.vault
    vault.unlock(PASSWORD)
    vault.add_connection(
        CreateConnection(name="Kalshi", kind="generic", fields={"api_secret": "sk-1"})
    )
    kernel = await loaded(kernels)
    (await kernel.run("%xmode Verbose")).check()

    async def interrupt_while_checking() -> None:
        # The vault counts an attempt before Argon2 runs, and forgives it once it succeeded.
        query = "SELECT failures FROM unlock_attempts WHERE id = 1"
        while not vault.store.query_one(query)[0]:
            await asyncio.sleep(0.02)
        await jp_serverapp.kernel_manager.interrupt_kernel(kernel.id)

    interrupting = asyncio.ensure_future(interrupt_while_checking())
    out = await kernel.run("%wd connect Kalshi", stdin=[PASSWORD])
    await interrupting
    assert "Interrupted" in refusal(out)
    assert PASSWORD not in out.everything
