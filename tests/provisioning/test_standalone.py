"""The interactive provisioner used outside a Jupyter server, by jupyter_client alone (as a
benchmark or a tool would): its connection file then sits in the shared temp folder, which
the kernel must keep, while the WatchDog Lab home stays hidden."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager
from jupyter_client.provisioning import KernelProvisionerFactory

from tests.bots.sandboxing import landlock_abi_or_skip
from watchdog_lab.provisioning import describe_kernel_sandbox


@pytest.fixture
def confined_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    landlock_abi_or_skip()
    if not describe_kernel_sandbox("best").startswith("landlock"):
        pytest.skip("no private mount view on this machine")
    home = tmp_path / "home"
    home.mkdir()
    (home / "vault.db").write_bytes(b"x")
    monkeypatch.setenv("WATCHDOG_LAB_HOME", str(home))
    factory = KernelProvisionerFactory.instance()
    previous = factory.default_provisioner_name
    factory.default_provisioner_name = "watchdog-lab-kernel"
    yield home
    factory.default_provisioner_name = previous


def test_a_connection_file_in_the_temp_folder_does_not_hide_the_temp_folder(
    confined_default: Path,
) -> None:
    shared = Path(tempfile.mkdtemp(prefix="wdl-shared-"))
    (shared / "data.csv").write_text("1,2\n")
    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    try:
        assert Path(km.connection_file).parent == Path(tempfile.gettempdir())
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        seen: list[str] = []
        code = (
            f"import os; print(os.listdir({str(shared)!r}), os.listdir({str(confined_default)!r}))"
        )
        client.execute_interactive(
            code,
            output_hook=lambda m: seen.append(m["content"].get("text", "")),
            timeout=30,
        )
        client.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    assert "".join(seen).strip() == "['data.csv'] []"
