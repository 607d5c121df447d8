"""Reading a user-named file: only a regular file (or, when asked, a pipe), never past a limit,
and never blocked by a FIFO that nobody writes to."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from watchdog_lab.errors import InputFileTooLarge, NotARegularFile
from watchdog_lab.files import read_regular_file

from .support import RETURNS_WITHIN_SECONDS, returns_within

# Generous for a call that does not block; far below "hangs until the suite times out".


def test_a_regular_file_is_read_whole_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "doc"
    path.write_bytes(b"x" * 100)
    assert read_regular_file(path, 100, "doc") == b"x" * 100


def test_a_file_one_byte_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "doc"
    path.write_bytes(b"x" * 101)
    with pytest.raises(InputFileTooLarge, match="larger than 100 bytes"):
        read_regular_file(path, 100, "doc")


def test_a_symlink_to_dev_zero_is_refused_as_a_device(tmp_path: Path) -> None:
    link = tmp_path / "notebook.ipynb"
    link.symlink_to("/dev/zero")
    with pytest.raises(NotARegularFile, match="is a device"):
        read_regular_file(link, 1024 * 1024 * 1024, "Notebook")


def test_a_fifo_without_a_writer_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "notebook.ipynb"
    os.mkfifo(fifo)
    outcome = returns_within(lambda: read_regular_file(fifo, 1024, "Notebook"))
    assert isinstance(outcome, NotARegularFile) and "is a pipe" in str(outcome)


def test_a_fifo_without_a_writer_reads_as_empty_where_pipes_are_allowed(tmp_path: Path) -> None:
    fifo = tmp_path / "pw"
    os.mkfifo(fifo)
    assert returns_within(lambda: read_regular_file(fifo, 1024, "pw", allow_pipe=True)) == b""


def test_a_pipe_is_read_until_its_writer_closes_where_pipes_are_allowed() -> None:
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"from a password manager\n")
        os.close(write_end)
        path = f"/proc/self/fd/{read_end}"  # what ``<(pass show vault)`` names
        assert read_regular_file(path, 1024, "pw", allow_pipe=True) == (
            b"from a password manager\n"
        )
    finally:
        os.close(read_end)


def test_a_pipe_that_never_ends_is_cut_at_the_limit(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    writer = threading.Thread(target=_flood, args=(write_end,), daemon=True)
    writer.start()
    try:
        with pytest.raises(InputFileTooLarge):
            read_regular_file(f"/proc/self/fd/{read_end}", 4096, "pw", allow_pipe=True)
    finally:
        os.close(read_end)
    writer.join(RETURNS_WITHIN_SECONDS)


def _flood(fd: int) -> None:
    try:
        while True:
            os.write(fd, b"y" * 4096)
    except OSError:  # the reader closed its end
        pass
    finally:
        os.close(fd)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotARegularFile, match="is a folder"):
        read_regular_file(tmp_path, 1024, "doc")


def test_the_opened_file_is_shown_to_the_check_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "doc"
    path.write_bytes(b"data")
    path.chmod(0o640)
    seen: list[int] = []
    read_regular_file(path, 10, "doc", check=lambda info: seen.append(stat.S_IMODE(info.st_mode)))
    assert seen == [0o640]


def test_a_missing_file_raises_the_os_error_for_the_caller_to_word(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_regular_file(tmp_path / "missing", 10, "doc")
