"""A notebook path that leads to a device or a FIFO: refused at once, with nothing read.

Both readers of a notebook path are checked, the one promote uses and the one dependency
detection uses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from watchdog_lab.bots.deps import detect_requirements
from watchdog_lab.bots.errors import NotebookError
from watchdog_lab.bots.notebook_scan import MAX_NOTEBOOK_BYTES
from watchdog_lab.bots.supervisor import _read_notebook

from ..support import returns_within

READERS: dict[str, Callable[[Path], object]] = {
    "promote": _read_notebook,
    "dependencies": detect_requirements,
}


@pytest.mark.parametrize("reader", READERS)
def test_a_notebook_linked_to_dev_zero_is_refused_as_a_device(tmp_path: Path, reader: str) -> None:
    link = tmp_path / "strategy.ipynb"
    link.symlink_to("/dev/zero")
    with pytest.raises(NotebookError, match="is a device, not a regular file"):
        READERS[reader](link)


@pytest.mark.parametrize("reader", READERS)
def test_a_notebook_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path, reader: str) -> None:
    fifo = tmp_path / "strategy.ipynb"
    os.mkfifo(fifo)
    error = returns_within(lambda: READERS[reader](fifo))
    assert isinstance(error, NotebookError) and "is a pipe" in str(error)


@pytest.mark.parametrize("reader", READERS)
def test_a_notebook_over_the_limit_is_refused(tmp_path: Path, reader: str) -> None:
    big = tmp_path / "strategy.ipynb"
    nb = v4.new_notebook(cells=[v4.new_code_cell("x = 1")])
    nb.metadata["padding"] = "p" * MAX_NOTEBOOK_BYTES
    big.write_text(json.dumps(nb))
    with pytest.raises(NotebookError, match="larger than 20 MiB"):
        READERS[reader](big)


@pytest.mark.parametrize("reader", READERS)
def test_a_regular_notebook_is_still_read(tmp_path: Path, reader: str) -> None:
    path = tmp_path / "strategy.ipynb"
    nbformat.write(v4.new_notebook(cells=[v4.new_code_cell("import os")]), path)
    READERS[reader](path)
