"""``bots promote --cell-timeout SECONDS``: the bot's per-cell limit, checked before promote."""

from __future__ import annotations

import pytest

from watchdog_lab.cli import build_parser
from watchdog_lab.cli.cmd_bots import promote_request
from watchdog_lab.cli.errors import UsageError

PROMOTE = ["bots", "promote", "n.ipynb", "--name", "B"]


def test_cell_timeout_sets_the_bots_limit_and_its_absence_leaves_the_default() -> None:
    limited = promote_request(build_parser().parse_args([*PROMOTE, "--cell-timeout", "2.5"]))
    assert limited.cell_timeout == 2.5
    unlimited = promote_request(build_parser().parse_args([*PROMOTE, "--cell-timeout", "0"]))
    assert unlimited.cell_timeout == 0
    assert promote_request(build_parser().parse_args(PROMOTE)).cell_timeout is None


@pytest.mark.parametrize("bad", ["-1", "soon", "nan", "inf", "604801"])
def test_a_cell_timeout_that_is_not_zero_to_a_week_of_seconds_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="--cell-timeout"):
        promote_request(build_parser().parse_args([*PROMOTE, "--cell-timeout", bad]))
