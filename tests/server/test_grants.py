"""Kernel grants given from the UI and remembered per notebook (watchdog_lab/server/broker.py).

The sidebar's "notebook access" toggle calls ``watchdog-lab/kernels/{id}/grants`` with the
user's Jupyter credentials and the vault password; ``remember`` keeps the grant for the notebook
in ``vault.db``, and later kernels of the notebook get it when the user confirms it (with the
password). Real kernels started through the REST API check the effect from inside.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.server.kernels import GRANT_NOTEBOOK as NOTEBOOK
from tests.server.kernels import GRANT_PASSWORD as PASSWORD
from tests.server.kernels import GRANT_SECRET as SECRET
from tests.server.kernels import GRANT_SECRET_DIGEST as SECRET_DIGEST
from watchdog_lab.server.broker import KernelBroker
from watchdog_lab.vault import Vault

from .conftest import FAST_KDF


async def ui_grant(api: Any, kernel: Any, connection: str = "Kalshi", **extra: Any) -> Any:
    body = {"connection": connection, "password": PASSWORD, **extra}
    return await api.post(f"kernels/{kernel.id}/grants", body)


async def test_ui_grant_without_the_vault_password_is_refused(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    response = await api.post(f"kernels/{kernel.id}/grants", {"connection": "Kalshi"})
    assert response.code == 422 and response.json["reason"] == "password_required"
    assert (await api.get(f"kernels/{kernel.id}/grants")).json["grants"] == []


async def test_ui_grant_with_a_wrong_password_is_refused(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    response = await ui_grant(api, kernel, password="not the vault password")
    assert response.code == 422
    assert (await api.get(f"kernels/{kernel.id}/grants")).json["grants"] == []


# --- granting and revoking from the UI --------------------------------------------------------


async def test_ui_grant_makes_the_connection_available_in_the_kernel(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    assert not (await kernel.lookup("Kalshi"))["ok"]
    response = await ui_grant(api, kernel)
    assert response.code == 201
    assert response.json["source"] == "ui" and response.json["connection_id"] == kalshi
    assert (await kernel.lookup("Kalshi"))["digest"] == SECRET_DIGEST


async def test_ui_grant_accepts_the_connection_id(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    assert (await ui_grant(api, kernel, kalshi)).json["connection"] == "Kalshi"
    assert (await kernel.lookup("Kalshi"))["ok"]


async def test_granting_twice_answers_the_existing_grant_with_200(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    assert (await ui_grant(api, kernel)).code == 201
    again = await ui_grant(api, kernel)
    assert again.code == 200 and again.json["connection_id"] == kalshi


async def test_kernel_grants_list_names_and_sources_but_no_value(kernels, kalshi, api) -> None:
    kernel = await kernels.start(NOTEBOOK)
    await ui_grant(api, kernel)
    response = await api.get(f"kernels/{kernel.id}/grants")
    assert response.code == 200
    body = response.json
    assert (body["kernel_id"], body["path"], body["vault"]) == (kernel.id, NOTEBOOK, "unlocked")
    assert [(g["connection"], g["source"], g["remembered"]) for g in body["grants"]] == [
        ("Kalshi", "ui", False)
    ]
    assert SECRET not in response.text


async def test_ui_revoke_takes_effect_at_the_next_lookup(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    await ui_grant(api, kernel)
    assert (await kernel.lookup("Kalshi"))["ok"]
    response = await api.delete(f"kernels/{kernel.id}/grants/Kalshi")
    assert response.code == 200 and response.json["connection_id"] == kalshi
    outcome = await kernel.lookup("Kalshi")
    assert not outcome["ok"] and outcome["reason"] == "not_granted"


async def test_revoking_what_was_never_granted_is_a_404(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    response = await api.delete(f"kernels/{kernel.id}/grants/Kalshi")
    assert response.code == 404 and response.json["reason"] == "grant_not_found"


async def test_ui_grant_while_locked_is_refused_with_423(
    kernels, kalshi, api, watchdog_app
) -> None:
    kernel = await kernels.start()
    watchdog_app.vault.lock()
    response = await ui_grant(api, kernel)
    assert response.code == 423
    watchdog_app.vault.unlock(PASSWORD)
    assert not (await kernel.lookup("Kalshi"))["ok"]


async def test_ui_grant_of_an_unknown_connection_is_a_404(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    response = await ui_grant(api, kernel, "Coinbase")
    assert response.code == 404 and response.json["reason"] == "connection_not_found"


async def test_grants_of_a_kernel_the_server_does_not_run_are_a_404(kalshi, api) -> None:
    response = await api.post(
        "kernels/00000000-0000-0000-0000-000000000000/grants",
        {"connection": "Kalshi", "password": PASSWORD},
    )
    assert response.code == 404 and response.json["reason"] == "kernel_not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "kernels/{kid}/grants"),
        ("POST", "kernels/{kid}/grants"),
        ("POST", "kernels/{kid}/remembered-grants"),
        ("DELETE", "kernels/{kid}/grants/Kalshi"),
        ("GET", "notebook-grants"),
        ("DELETE", "notebook-grants?path=x.ipynb"),
    ],
)
async def test_grant_routes_need_jupyter_authentication(
    kernels, kalshi, api, method: str, path: str
) -> None:
    kernel = await kernels.start()
    await ui_grant(api, kernel)
    body = {"connection": "Kalshi", "password": PASSWORD} if method == "POST" else None
    if path.endswith("remembered-grants"):
        body = {"password": PASSWORD}
    response = await api.call(method, path.format(kid=kernel.id), body, auth=False)
    assert response.code == 403
    assert (await kernel.lookup("Kalshi"))["ok"]  # nothing was revoked either


async def test_the_kernel_token_does_not_open_the_ui_routes(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    token = (await kernel.environ())["WATCHDOG_LAB_KERNEL_TOKEN"]
    response = await api.post(
        f"kernels/{kernel.id}/grants",
        {"connection": "Kalshi", "password": PASSWORD},
        headers={"X-WatchDog-Lab-Kernel-Token": token},
        auth=False,
    )
    assert response.code == 403
    assert not (await kernel.lookup("Kalshi"))["ok"]


# --- remembered per notebook ------------------------------------------------------------------


async def confirm(api: Any, kernel: Any) -> Any:
    """The sidebar's "use the remembered grants" with the password."""
    return await api.post(f"kernels/{kernel.id}/remembered-grants", {"password": PASSWORD})


async def test_remembered_grant_applies_to_the_next_kernel_once_confirmed(
    kernels, kalshi, api
) -> None:
    first = await kernels.start(NOTEBOOK)
    response = await ui_grant(api, first, remember=True)
    assert response.json["remembered"] is True
    await kernels.shutdown(first)
    later = await kernels.start(NOTEBOOK)
    assert not (await later.lookup("Kalshi"))["ok"]
    assert (await confirm(api, later)).code == 200
    assert (await later.lookup("Kalshi"))["digest"] == SECRET_DIGEST
    listed = (await api.get(f"kernels/{later.id}/grants")).json["grants"]
    assert [(g["source"], g["remembered"]) for g in listed] == [("notebook", True)]


async def test_remembered_grant_does_not_apply_to_another_notebook(kernels, kalshi, api) -> None:
    await ui_grant(api, await kernels.start(NOTEBOOK), remember=True)
    other = await kernels.start("research/other.ipynb")
    assert (await api.get(f"kernels/{other.id}/grants")).json["suggested"] == []
    assert (await confirm(api, other)).json["grants"] == []
    assert not (await other.lookup("Kalshi"))["ok"]


async def test_remembered_grant_comes_back_after_a_restart_once_confirmed(
    kernels, kalshi, api
) -> None:
    kernel = await kernels.start(NOTEBOOK)
    await ui_grant(api, kernel, remember=True)
    kernel = await kernels.restart(kernel)
    assert not (await kernel.lookup("Kalshi"))["ok"]
    await confirm(api, kernel)
    assert (await kernel.lookup("Kalshi"))["ok"]


async def test_confirming_for_a_kernel_without_a_notebook_is_refused(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    response = await confirm(api, kernel)
    assert response.code == 409 and response.json["reason"] == "no_notebook"


async def test_remember_for_a_kernel_without_a_notebook_is_refused(kernels, kalshi, api) -> None:
    kernel = await kernels.start()
    response = await ui_grant(api, kernel, remember=True)
    assert response.code == 409 and response.json["reason"] == "no_notebook"
    assert not (await kernel.lookup("Kalshi"))["ok"]


async def test_notebook_grants_are_listed_with_path_and_name(kernels, kalshi, api) -> None:
    await ui_grant(api, await kernels.start(NOTEBOOK), remember=True)
    response = await api.get("notebook-grants")
    assert response.code == 200
    assert [
        (g["path"], g["connection"], g["connection_id"]) for g in response.json["notebook_grants"]
    ] == [(NOTEBOOK, "Kalshi", kalshi)]


async def test_forgetting_a_notebook_grant_stops_it_for_new_kernels(kernels, kalshi, api) -> None:
    first = await kernels.start(NOTEBOOK)
    await ui_grant(api, first, remember=True)
    response = await api.delete(f"notebook-grants?path={quote(NOTEBOOK)}&connection=Kalshi")
    assert response.code == 200 and response.json == {"forgotten": 1}
    assert (await first.lookup("Kalshi"))["ok"]  # the running kernel keeps its grant
    await kernels.shutdown(first)
    later = await kernels.start(NOTEBOOK)
    await confirm(api, later)
    assert not (await later.lookup("Kalshi"))["ok"]
    assert (await api.get("notebook-grants")).json["notebook_grants"] == []


async def test_revoking_from_a_kernel_also_forgets_the_notebooks_grant(
    kernels, kalshi, api
) -> None:
    kernel = await kernels.start(NOTEBOOK)
    await ui_grant(api, kernel, remember=True)
    response = await api.delete(f"kernels/{kernel.id}/grants/Kalshi")
    assert response.json["forgotten"] is True
    assert (await api.get("notebook-grants")).json["notebook_grants"] == []


async def test_remembered_grants_are_kept_in_the_vault_file(
    kernels, kalshi, api, watchdog_home
) -> None:
    await ui_grant(api, await kernels.start(NOTEBOOK), remember=True)
    vault = Vault(watchdog_home, kdf=FAST_KDF)  # another process reading the same file
    try:
        remembered = KernelBroker(lambda: vault).notebook_grants().notebook_grants
        assert [(g.path, g.connection_id, g.connection) for g in remembered] == [
            (NOTEBOOK, kalshi, None)  # locked in that process: the id only
        ]
    finally:
        vault.close()


async def test_removing_a_connection_forgets_its_remembered_grants(
    kernels, kalshi, api, watchdog_app
) -> None:
    await ui_grant(api, await kernels.start(NOTEBOOK), remember=True)
    watchdog_app.vault.remove_connection("Kalshi")
    assert (await api.get("notebook-grants")).json["notebook_grants"] == []


async def test_remembering_and_forgetting_are_audited(kernels, kalshi, api, watchdog_app) -> None:
    kernel = await kernels.start(NOTEBOOK)
    await ui_grant(api, kernel, remember=True)
    await api.delete(f"notebook-grants?path={quote(NOTEBOOK)}")
    events = [e.event for e in watchdog_app.vault.audit_log(limit=10)]
    assert "notebook.grant_remembered" in events
    assert "notebook.grant_forgotten" in events
    assert "kernel.granted" in events
