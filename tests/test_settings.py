"""``c.WatchdogLab.*``: read from the Jupyter config files, every value checked, turned into the
core services the same way for every face (watchdog_lab/settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from watchdog_lab.errors import InvalidSetting
from watchdog_lab.settings import WatchdogLab, load_jupyter_config, load_settings
from watchdog_lab.vault import Vault


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_the_first_config_folder_wins_as_jupyter_config_dir_does(tmp_path: Path) -> None:
    first, second = tmp_path / "config-dir", tmp_path / "system"
    write(second, "jupyter_server_config.py", "c.WatchdogLab.sandbox = 'none'\n")
    write(second, "jupyter_server_config.json", '{"WatchdogLab": {"wheels_only": false}}')
    write(first, "jupyter_server_config.py", "c.WatchdogLab.sandbox = 'require'\n")
    settings = load_settings(load_jupyter_config([str(first), str(second)]))
    assert settings.sandbox == "require"
    assert settings.wheels_only is False  # set only in the lower folder: still applies


def test_in_one_folder_the_json_file_wins_over_the_python_one(tmp_path: Path) -> None:
    write(tmp_path, "jupyter_server_config.py", "c.WatchdogLab.restart_max_failures = 3\n")
    write(tmp_path, "jupyter_server_config.json", '{"WatchdogLab": {"restart_max_failures": 4}}')
    assert load_settings(load_jupyter_config([str(tmp_path)])).restart_max_failures == 4


def test_jupyterlabs_and_the_extensions_own_files_are_read_too(tmp_path: Path) -> None:
    write(tmp_path, "jupyter_server_config.py", "c.WatchdogLab.cell_timeout = 10\n")
    write(tmp_path, "jupyter_lab_config.py", "c.WatchdogLab.cell_timeout = 20\n")
    write(tmp_path, "jupyter_watchdog_lab_config.json", '{"WatchdogLab": {"cell_timeout": 30}}')
    assert load_settings(load_jupyter_config([str(tmp_path)])).cell_timeout == 30


def test_jupyter_config_dir_is_honoured_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "jupyter_server_config.py", "c.WatchdogLab.bot_connect_ports = [443, 9443]\n")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    assert load_settings().bot_connect_ports == [443, 9443]


def test_a_config_file_that_does_not_run_is_named(tmp_path: Path) -> None:
    write(tmp_path, "jupyter_server_config.py", "c.WatchdogLab.sandbox = (\n")
    with pytest.raises(InvalidSetting, match=r"jupyter_server_config\.py"):
        load_jupyter_config([str(tmp_path)])


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("sandbox", "bogus", "'best', 'require', 'landlock', 'bubblewrap', 'none'"),
        ("kernel_sandbox", "strict", "'best', 'none'"),
        ("bot_connect_ports", [443, 0], "not TCP ports"),
        ("bot_rlimits", {"core": 1}, "Core dumps stay disabled"),
        ("bot_rlimits", {"nofile": "many"}, "must be an int"),
        ("cell_timeout", -1, "no limit"),
        ("argon2_memory_kib", 1024, "outside 8192 to 4194304"),
        ("argon2_time_cost", 0, "outside 1"),
        ("restart_max_failures", 0, "outside 1"),
        ("auto_lock_minutes", -5, "outside 0"),
    ],
)
def test_a_bad_value_is_refused_naming_the_setting_and_what_it_accepts(
    name: str, value: object, says: str
) -> None:
    with pytest.raises(InvalidSetting) as refused:
        load_settings(Config({"WatchdogLab": {name: value}}))
    assert f"c.WatchdogLab.{name}" in str(refused.value)
    assert says in str(refused.value)


def test_the_bot_manager_gets_every_bot_setting(tmp_path: Path) -> None:
    settings = WatchdogLab(
        config=Config(
            {
                "WatchdogLab": {
                    "sandbox": "require",
                    "bot_rlimits": {"nofile": 1024},
                    "bot_connect_ports": [443],
                    "restart_max_failures": 2,
                    "dependency_denylist": ["leftpad"],
                    "wheels_only": False,
                    "cell_timeout": 12.5,
                    "uv_cache_dir": str(tmp_path / "cache"),
                }
            }
        )
    )
    manager = settings.bot_manager(Vault(tmp_path / "home"))
    assert manager.sandbox_mode == "require"
    assert manager.rlimits == {"nofile": 1024}
    assert manager.connect_ports == [443]
    assert manager.restart_policy.max_failures == 2
    assert "leftpad" in manager.policy.denylist
    assert manager.wheels_only is False
    assert manager.uv_cache == tmp_path / "cache"
    assert manager.cell_timeout == 12.5


def test_the_uv_cache_variable_is_the_default_for_every_face(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_LAB_UV_CACHE", str(tmp_path / "shared"))
    assert load_settings(Config()).uv_cache_dir == str(tmp_path / "shared")
