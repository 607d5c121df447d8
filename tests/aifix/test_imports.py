"""The packages a cell imports, and their versions read from an environment's metadata."""

from __future__ import annotations

from pathlib import Path

from watchdog_lab.aifix import environment_versions, imported_modules


def test_top_level_names_of_every_import_in_order() -> None:
    source = "import numpy as np, os.path\nfrom pandas.api import types\nfrom . import local\n"
    assert imported_modules(source) == ["numpy", "os", "pandas"]


def test_imports_inside_functions_count() -> None:
    assert imported_modules("def f():\n    import requests\n") == ["requests"]


def test_ipython_lines_do_not_hide_the_imports() -> None:
    source = "%pip install ccxt\n!ls\nimport ccxt\nx = 1\n"
    assert imported_modules(source) == ["ccxt"]


def test_a_cell_with_a_syntax_error_is_read_line_by_line() -> None:
    assert imported_modules("import numpy\nfrom scipy import stats\nx = (1\n") == [
        "numpy",
        "scipy",
    ]


def test_a_cell_magic_imports_nothing() -> None:
    assert imported_modules("%%bash\nimport numpy\n") == []


def write_dist(site: Path, name: str, version: str, files: dict[str, str]) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    record = [f"{path},," for path in files] + [f"{info.name}/METADATA,,"]
    for path, text in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(text)
    (info / "RECORD").write_text("\n".join(record) + "\n")


def test_versions_are_read_from_a_venvs_metadata_by_import_name(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    write_dist(site, "scikit-learn", "1.5.1", {"sklearn/__init__.py": "raise SystemExit"})
    write_dist(site, "six", "1.16.0", {"six.py": "raise SystemExit"})
    versions = environment_versions([str(site)])
    assert versions["sklearn"] == "1.5.1" and versions["six"] == "1.16.0"
    assert versions["scikit_learn"] == "1.5.1"


def test_a_package_installed_since_the_last_read_is_seen(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    write_dist(site, "six", "1.16.0", {"six.py": ""})
    assert "attrs" not in environment_versions([str(site)])
    write_dist(site, "attrs", "24.2.0", {"attrs/__init__.py": ""})
    assert environment_versions([str(site)])["attrs"] == "24.2.0"
