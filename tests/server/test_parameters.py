"""Notebook parameters are judged once, by the core's request model, whichever face sends them.

Parameters become Python source (``NAME = VALUE``) in a cell injected before the notebook's
own, so a name that is not a plain identifier is code. The REST route and the core API are
checked here with the same hostile names; the CLI's refusals are in ``tests/cli``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from traitlets.config import Config

from watchdog_lab.bots.models import MAX_PARAMETER_NAME, MAX_PARAMETERS, PromoteBot

from .botapi import bot_path, promote, wait_bot, write_notebook

pytestmark = pytest.mark.usefixtures("stop_bots")

PASSWORD = "correct horse battery staple"
PWNED = "pwned"


def hostile_names(marker: Path) -> list[str]:
    return [
        f"x=__import__('os').system('touch {marker}')#",
        f"x\nimport os; os.system('touch {marker}')\ny",
    ]


REFUSED_NAMES = [
    "__builtins__",  # dunder: rebinding it changes what every later cell can call
    "__builtins\uff3f\uff3f",  # NFKC-folds to __builtins__ when Python reads it
    "class",  # a keyword: a syntax error in the injected cell
    "1size",
    "a b",
    "",
    "x" * (MAX_PARAMETER_NAME + 1),
]


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:
    return bots_server_config


@pytest.fixture
def vault(make_vault):  # type: ignore[no-untyped-def]
    return make_vault(PASSWORD)


@pytest.fixture
def notebook(jp_root_dir: Path) -> str:
    """Without a ``parameters`` cell the injected one comes first."""
    write_notebook(jp_root_dir / "p.ipynb", "print('size', size, 'label', label)")
    return "p.ipynb"


async def refused(api: Any, notebook: str, parameters: dict[str, object]) -> dict[str, Any]:
    """POST a started bot with these parameters; assert the 422 and that no bot exists."""
    body = {"notebook": notebook, "name": "Injected", "parameters": parameters, "start": True}
    response = await api.post("bots", body)
    assert response.code == 422, response.text
    assert (await api.get("bots")).json["bots"] == []
    return response.json


# ------------------------------------------------------------------------- REST


@pytest.mark.parametrize("index", [0, 1])
async def test_rest_refuses_a_parameter_name_that_is_code_and_creates_no_bot(
    api, vault, notebook: str, tmp_path: Path, index: int
) -> None:
    marker = tmp_path / PWNED
    name = hostile_names(marker)[index]
    body = await refused(api, notebook, {name: 1})
    assert body["reason"] == "invalid_body"
    assert "parameters." in body["message"] and "usable parameter name" in body["message"]
    assert not marker.exists()


@pytest.mark.parametrize("name", REFUSED_NAMES)
async def test_rest_refuses_a_parameter_name_python_would_not_read_as_a_plain_name(
    api, vault, notebook: str, name: str
) -> None:
    body = await refused(api, notebook, {name: 1})
    assert "parameters." in body["message"] and "usable parameter name" in body["message"]


async def test_rest_refuses_more_parameters_than_the_bound(api, vault, notebook: str) -> None:
    body = await refused(api, notebook, {f"p{i}": i for i in range(MAX_PARAMETERS + 1)})
    assert "'parameters' has too many items" in body["message"]


async def test_rest_accepts_identifiers_and_json_values_and_the_notebook_sees_them(
    api, vault, notebook: str
) -> None:
    await promote(
        api, notebook=notebook, name="Fine", parameters={"size": [1, {"k": None}], "label": "Zü"}
    )
    await api.post(bot_path("Fine", "start"))
    await wait_bot(api, "Fine", lambda b: b["status"]["reason"] == "finished", what="finished")
    records = (await api.get(bot_path("Fine", "logs"))).json["records"]
    stdout = "".join(r["text"] for r in records if r["stream"] == "stdout")
    assert stdout == "size [1, {'k': None}] label Zü\n"


# --------------------------------------------------------------------- core API


@pytest.mark.parametrize("name", [*hostile_names(Path("/tmp") / PWNED), *REFUSED_NAMES])
def test_the_core_request_refuses_the_same_names(name: str) -> None:
    with pytest.raises(ValidationError) as refusal:
        PromoteBot(notebook="p.ipynb", name="Injected", parameters={name: 1})
    assert [e["type"] for e in refusal.value.errors()] == ["parameter_name"]
    assert "Python identifier" in refusal.value.errors()[0]["msg"]


class Shown:
    """An object whose ``str()`` is code: papermill would paste it into the cell as is."""

    def __str__(self) -> str:
        return '" + __import__("os").getcwd() + "'


def test_the_core_request_refuses_a_value_that_is_not_json() -> None:
    with pytest.raises(ValidationError) as refusal:
        PromoteBot(notebook="p.ipynb", name="Injected", parameters={"size": Shown()})
    assert refusal.value.errors()[0]["loc"] == ("parameters", "size")


def test_the_core_request_keeps_unicode_identifiers_and_json_values() -> None:
    request = PromoteBot(
        notebook="p.ipynb", name="Fine", parameters={"größe": 1.5, "_x": [True, None, {"a": "b"}]}
    )
    assert request.parameters == {"größe": 1.5, "_x": [True, None, {"a": "b"}]}
