"""Saved notebooks carry no secret (watchdog_lab/server/scrub.py), through the real contents API."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from watchdog_lab.redact import Redactor
from watchdog_lab.server.scrub import SCRUB_FAILED_MESSAGE, ContentsScrubber
from watchdog_lab.vault import CreateConnection

from .conftest import FAST_KDF_CONFIG

PASSWORD = "correct horse battery staple"
SECRET = "sk-test-5f0c1a9e8b7d6c4e3a2b1908f7e6d5c4"
SECRET_B64 = base64.b64encode(SECRET.encode()).decode()
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
SOURCE = "print(conn.secret)  # the source stays as typed"


def leaky_notebook() -> nbformat.NotebookNode:
    """A notebook whose outputs printed the secret, its base64, and inside rich data."""
    cell = new_code_cell(
        SOURCE,
        outputs=[
            new_output("stream", name="stdout", text=f"key={SECRET}\nb64={SECRET_B64}\n"),
            new_output(
                "execute_result",
                data={"text/plain": f"'{SECRET}'", "application/json": {"nested": [SECRET]}},
                execution_count=1,
            ),
            new_output("error", ename="ValueError", evalue=f"bad key {SECRET}", traceback=[SECRET]),
        ],
        execution_count=1,
    )
    return new_notebook(cells=[new_markdown_cell("# Notes"), cell])


@pytest.fixture
def known_secret(watchdog_app) -> None:  # type: ignore[no-untyped-def]
    """The server's vault holds SECRET and its redactor knows it (as after an unlock)."""
    watchdog_app.vault.create(PASSWORD)
    watchdog_app.vault.add_connection(
        CreateConnection(name="Exchange", kind="generic", fields={"api_key": SECRET})
    )
    watchdog_app.refresh_redactor()


async def save(jp_fetch, path: str, model: dict):  # type: ignore[no-untyped-def]
    return await jp_fetch("api", "contents", path, method="PUT", body=json.dumps(model))


async def save_notebook(jp_fetch, path: str, nb) -> None:  # type: ignore[no-untyped-def]
    response = await save(jp_fetch, path, {"type": "notebook", "format": "json", "content": nb})
    assert response.code in (200, 201)


# --- through the contents API ------------------------------------------------------------


async def test_a_saved_notebook_has_no_secret_on_disk(
    jp_fetch, known_secret, jp_root_dir: Path
) -> None:
    await save_notebook(jp_fetch, "leaky.ipynb", leaky_notebook())
    on_disk = (jp_root_dir / "leaky.ipynb").read_text()
    assert SECRET not in on_disk
    assert SECRET_B64 not in on_disk
    assert "[REDACTED:Exchange.api_key]" in on_disk


async def test_scrubbing_keeps_sources_and_the_notebook_valid(
    jp_fetch, known_secret, jp_root_dir: Path
) -> None:
    await save_notebook(jp_fetch, "leaky.ipynb", leaky_notebook())
    nb = nbformat.read(jp_root_dir / "leaky.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.cells[1].source == SOURCE
    assert nb.cells[1].outputs[0].text.startswith("key=[REDACTED:Exchange.api_key]")


async def test_values_stay_known_after_the_vault_locks(
    jp_fetch, known_secret, watchdog_app, jp_root_dir: Path
) -> None:
    watchdog_app.vault.lock()
    await save_notebook(jp_fetch, "later.ipynb", leaky_notebook())
    assert SECRET not in (jp_root_dir / "later.ipynb").read_text()


async def test_pattern_matched_keys_are_scrubbed_without_any_vault(
    jp_fetch, jp_root_dir: Path
) -> None:
    nb = new_notebook(
        cells=[new_code_cell("x", outputs=[new_output("stream", text=f"aws {AWS_KEY}\n")])]
    )
    await save_notebook(jp_fetch, "aws.ipynb", nb)
    on_disk = (jp_root_dir / "aws.ipynb").read_text()
    assert AWS_KEY not in on_disk
    assert "[REDACTED:" in on_disk


async def test_widget_state_in_metadata_is_scrubbed(
    jp_fetch, known_secret, jp_root_dir: Path
) -> None:
    nb = new_notebook(cells=[new_code_cell("w")])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"value": SECRET}}
    nb.cells[0].metadata["note"] = SECRET
    await save_notebook(jp_fetch, "widgets.ipynb", nb)
    assert SECRET not in (jp_root_dir / "widgets.ipynb").read_text()


async def test_a_saved_password_widget_is_emptied_whatever_it_holds(
    jp_fetch, jp_root_dir: Path
) -> None:
    """The vault password is no connection value: no redactor knows it, so a Password widget's
    saved value is emptied by what it is, not by what it holds."""
    typed = "my vault password, typed while a cell ran"
    state = {
        "password-model": {
            "model_name": "PasswordModel",
            "model_module": "@jupyter-widgets/controls",
            "state": {"value": typed, "description": "Vault password"},
        },
        "text-model": {
            "model_name": "TextModel",
            "model_module": "@jupyter-widgets/controls",
            "state": {"value": "BTC-USD"},
        },
    }
    nb = new_notebook(cells=[new_code_cell("wd.panel()")])
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {"version_major": 2, "state": state}
    }
    await save_notebook(jp_fetch, "panel.ipynb", nb)
    saved = json.loads((jp_root_dir / "panel.ipynb").read_text())
    models = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert models["password-model"]["state"] == {"value": "", "description": "Vault password"}
    assert models["text-model"]["state"]["value"] == "BTC-USD"


async def test_text_files_are_saved_as_written_and_reported(
    jp_fetch, known_secret, jp_root_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = f"API_KEY={SECRET}\n"
    with caplog.at_level(logging.WARNING, logger="watchdog_lab.server.scrub"):
        await save(jp_fetch, "settings.env", {"type": "file", "format": "text", "content": text})
    assert (jp_root_dir / "settings.env").read_text() == text
    warnings = [r.getMessage() for r in caplog.records if r.name == "watchdog_lab.server.scrub"]
    assert any("settings.env" in w and "Exchange.api_key" in w for w in warnings)
    assert not any(SECRET in w for w in warnings)


async def test_a_failing_scrub_refuses_the_save(
    jp_fetch, known_secret, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(nb: object, redactor: object) -> object:
        raise RuntimeError("notebook redaction unavailable")

    monkeypatch.setattr("watchdog_lab.server.scrub.redact_notebook", broken)
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as refused:
        await save_notebook(jp_fetch, "refused.ipynb", leaky_notebook())
    assert refused.value.code == 500
    assert SCRUB_FAILED_MESSAGE in refused.value.response.body.decode()
    assert not (jp_root_dir / "refused.ipynb").exists()


def tag_saved_notebooks(model, path, contents_manager, **kwargs):  # type: ignore[no-untyped-def]
    """A user's own pre-save hook (configured by import path)."""
    if model.get("type") == "notebook":
        model["content"]["metadata"]["user_hook_ran"] = True


class TestWithTheUsersOwnPreSaveHook:
    @pytest.fixture
    def jp_server_config(self, watchdog_home: Path) -> Config:
        return Config(
            {
                "ServerApp": {"jpserver_extensions": {"watchdog_lab": True}},
                "ContentsManager": {"pre_save_hook": f"{__name__}.tag_saved_notebooks"},
                "WatchdogLab": {"home": str(watchdog_home), **FAST_KDF_CONFIG},
            }
        )

    async def test_both_hooks_run(self, jp_fetch, known_secret, jp_root_dir: Path) -> None:
        await save_notebook(jp_fetch, "both.ipynb", leaky_notebook())
        nb = json.loads((jp_root_dir / "both.ipynb").read_text())
        assert nb["metadata"]["user_hook_ran"] is True
        assert SECRET not in json.dumps(nb)


# --- the hook on its own -----------------------------------------------------------------


def test_the_hook_accepts_plain_dict_notebooks() -> None:
    scrubber = ContentsScrubber(Redactor([("Exchange", "api_key", SECRET)]))
    model = {"type": "notebook", "content": json.loads(nbformat.writes(leaky_notebook()))}
    scrubber(model=model, path="x.ipynb", contents_manager=None)
    assert SECRET not in json.dumps(model)
    assert "".join(model["content"]["cells"][1]["source"]) == SOURCE


def test_the_hook_leaves_other_models_alone() -> None:
    scrubber = ContentsScrubber(Redactor([("Exchange", "api_key", SECRET)]))
    model = {"type": "directory", "content": None}
    scrubber(model=model, path="d", contents_manager=None)
    assert model == {"type": "directory", "content": None}
