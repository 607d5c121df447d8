"""``POST bots`` takes a cell timeout; ``c.WatchdogLab.cell_timeout`` is the default of bots
promoted without one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from traitlets.config import Config

from .botapi import promote, write_notebook

pytestmark = pytest.mark.usefixtures("stop_bots")
SERVER_DEFAULT = 40.0


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:
    bots_server_config.WatchdogLab.cell_timeout = SERVER_DEFAULT
    return bots_server_config


@pytest.fixture
def vault(make_vault):  # type: ignore[no-untyped-def]
    return make_vault("cell timeout password")


def _cell_timeout(bot: dict) -> object:
    return json.loads((Path(bot["folder"]) / "bot.json").read_text())["cell_timeout"]


async def test_a_promote_body_sets_the_bots_cell_timeout_else_the_servers_applies(
    api, vault, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "x = 1")
    own = await promote(api, notebook="a.ipynb", name="Own", cell_timeout=5)
    default = await promote(api, notebook="a.ipynb", name="Default")
    assert _cell_timeout(own) == 5 and _cell_timeout(default) == SERVER_DEFAULT


async def test_a_negative_cell_timeout_is_refused_before_anything_is_made(
    api, vault, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "x = 1")
    response = await api.post("bots", {"notebook": "a.ipynb", "name": "Bad", "cell_timeout": -1})
    assert response.code in (400, 422), response.text
    assert (await api.get("bots")).json["bots"] == []
