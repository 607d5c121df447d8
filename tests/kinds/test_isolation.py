"""The kinds package runs inside kernels and bots too: it must stay small and self-contained."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import watchdog_lab
from watchdog_lab.bots.environment import SDK_SOURCES

PACKAGE = Path(watchdog_lab.__file__).parent


def _package_imports(path: Path) -> set[str]:
    """The ``watchdog_lab`` subpackages or modules a file imports, at any depth of its code."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1] if parts[-1] != "__init__" else parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = [*base, *(node.module.split(".") if node.module else [])]
            names = [target] if node.module else [[*target, a.name] for a in node.names]
            found.update(name[1] for name in names if len(name) > 1)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("watchdog_lab."):
            found.add(node.module.split(".")[1])  # type: ignore[union-attr]
        elif isinstance(node, ast.Import):
            found.update(
                a.name.split(".")[1] for a in node.names if a.name.startswith("watchdog_lab.")
            )
    return found


def test_kinds_import_nothing_else_of_the_package() -> None:
    for path in (PACKAGE / "kinds").glob("*.py"):
        assert _package_imports(path) <= {"kinds"}, path.name


def test_everything_the_sdk_and_the_kinds_import_is_copied_into_bot_venvs() -> None:
    shipped = {Path(entry).stem for entry in SDK_SOURCES}
    for folder in ("sdk", "kinds"):
        for path in (PACKAGE / folder).glob("*.py"):
            missing = _package_imports(path) - shipped
            assert not missing, f"{folder}/{path.name} imports {missing}, not in a bot venv"


def test_the_sdk_loads_the_kinds_only_for_a_kind_helper_and_never_the_core() -> None:
    probe = (
        "import json, sys\n"
        "import watchdog_lab.sdk as sdk\n"
        "def loaded(): return sorted(m for m in sys.modules if m.startswith('watchdog_lab.'))\n"
        "conn = sdk.Connection('K', 'kalshi', {'api_key_id': 'k', 'environment': 'prod'})\n"
        "conn.api_key_id\n"
        "before = loaded()\n"
        "conn.base_url\n"
        "print(json.dumps([before, loaded()]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True
    )
    before, after = json.loads(done.stdout)
    assert not [m for m in before if m.startswith("watchdog_lab.kinds")]
    assert "watchdog_lab.kinds.kalshi" in after
    core = ("watchdog_lab.vault", "watchdog_lab.server", "watchdog_lab.bots", "watchdog_lab.cli")
    assert not [m for m in after if m.startswith(core)]
