"""Resource limits: defaults, what a configuration may change, and applying them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from watchdog_lab.bots.errors import InvalidLimit
from watchdog_lab.bots.limits import DEFAULT_LIMITS, DEFAULT_TASKS, resolve_limits, task_cap


def test_defaults_forbid_core_dumps_and_cap_open_files() -> None:
    limits = resolve_limits({})
    assert limits["core"] == 0
    assert limits["nofile"] == DEFAULT_LIMITS["nofile"] > 0
    assert "as" not in limits and "cpu" not in limits


def test_memory_is_an_alias_of_the_address_space_limit() -> None:
    assert resolve_limits({"memory": 2 * 1024**3})["as"] == 2 * 1024**3


def test_minus_one_lifts_a_default() -> None:
    assert resolve_limits({"fsize": -1})["fsize"] == -1


@pytest.mark.parametrize(
    ("configured", "message"),
    [
        ({"open_files": 10}, "Unknown resource limit 'open_files'"),
        ({"core": 1024}, "Core dumps stay disabled"),
        ({"nofile": 3}, "too low for a kernel to start"),
        ({"cpu": -5}, "too low"),
        ({"nofile": "many"}, "must be an integer"),
        ({"nofile": True}, "must be an integer"),
    ],
)
def test_a_limit_that_cannot_be_honoured_is_refused_with_the_reason(
    configured: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidLimit, match=message):
        resolve_limits(configured)  # type: ignore[arg-type]


def test_applied_limits_are_hard_too_and_clamped_to_what_the_process_may_have() -> None:
    script = (
        "import json, resource\n"
        "from watchdog_lab.bots.limits import apply_limits\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (200, 300))\n"
        "apply_limits({'nofile': 100000, 'fsize': 12345})\n"
        "print(json.dumps([resource.getrlimit(resource.RLIMIT_NOFILE),"
        " resource.getrlimit(resource.RLIMIT_FSIZE)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == [[300, 300], [12345, 12345]]


def test_a_bots_tasks_are_capped_by_default_and_the_cap_can_be_raised_or_lifted() -> None:
    assert task_cap(resolve_limits({})) == DEFAULT_TASKS
    assert task_cap(resolve_limits({"pids": 4096})) == 4096
    assert task_cap(resolve_limits({"pids": -1})) is None


def test_a_task_cap_too_low_for_a_kernel_is_refused() -> None:
    with pytest.raises(InvalidLimit, match="'pids' = 8 is too low"):
        resolve_limits({"pids": 8})


def test_the_task_cap_is_no_resource_limit_of_the_kernel_process() -> None:
    script = (
        "import resource\n"
        "from watchdog_lab.bots.limits import apply_limits\n"
        "before = resource.getrlimit(resource.RLIMIT_NPROC)\n"
        "apply_limits({'pids': 64})\n"
        "print(resource.getrlimit(resource.RLIMIT_NPROC) == before)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "True"


def test_a_bots_processes_get_half_the_machines_memory_by_default_and_may_lift_it() -> None:
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert resolve_limits({})["data"] == max(1024**3, physical // 2)
    assert resolve_limits({"data": 2 * 1024**3})["data"] == 2 * 1024**3
    assert resolve_limits({"data": -1})["data"] == -1
