"""What confining an interactive kernel costs at start: kernel start to ready, both ways.

The baseline is jupyter_client's own ``local-provisioner`` (what every Jupyter server uses);
beside it, WatchDog Lab's ``watchdog-lab-kernel`` provisioner, which puts the exec wrapper
(Landlock, a private mount view, a private ``/proc``) in front of the same kernel command.
Both start the same ``python3`` kernelspec of this interpreter, alternately, so machine noise
hits both alike. Each start is checked: the confined kernel must not see the WatchDog Lab home
(an empty folder in its view), the unconfined one must (the check would catch a provisioner
that silently does nothing).

Run from the repository root (about 20 s):

    python benchmarks/bench_kernel_start.py [--runs 7]

Prints the median and max start-to-ready time of each and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import KernelProvisionerFactory
from jupyter_core.paths import jupyter_runtime_dir

from watchdog_lab.provisioning import describe_kernel_sandbox

PROVISIONERS = ("local-provisioner", "watchdog-lab-kernel")


async def start_once(provisioner: str, home: Path) -> tuple[float, list[str]]:
    """Seconds from start request to a kernel answering, and what it lists in ``home``."""
    KernelProvisionerFactory.instance().default_provisioner_name = provisioner
    # As a Jupyter server does: the connection file in the runtime folder.
    connection_file = Path(jupyter_runtime_dir()) / f"kernel-bench-{uuid.uuid4().hex}.json"
    km = AsyncKernelManager(kernel_name="python3", connection_file=str(connection_file))
    outputs: list[dict] = []
    started = time.perf_counter()
    await km.start_kernel()
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        seconds = time.perf_counter() - started
        reply = await client.execute_interactive(
            f"import os; print(sorted(os.listdir({str(home)!r})))",
            output_hook=outputs.append,
            timeout=30,
        )
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        await km.shutdown_kernel(now=True)
    return seconds, [m["content"]["text"] for m in outputs if m["msg_type"] == "stream"]


async def main(runs: int) -> int:
    print(f"interactive kernel sandbox here: {describe_kernel_sandbox('best')}")
    with tempfile.TemporaryDirectory(prefix="wdl-bench-home-") as folder:
        home = Path(folder)
        os.environ["WATCHDOG_LAB_HOME"] = folder  # the home the provisioner hides
        (home / "vault.db").write_bytes(b"not a vault: only its name is looked for")
        times: dict[str, list[float]] = {p: [] for p in PROVISIONERS}
        await start_once(PROVISIONERS[0], home)  # warm-up: imports, page cache
        for _ in range(runs):
            for provisioner in PROVISIONERS:
                seconds, listed = await start_once(provisioner, home)
                sees_vault = any("vault.db" in text for text in listed)
                if sees_vault != (provisioner == "local-provisioner"):
                    print(f"FAIL: {provisioner} kernel listed {listed!r}")
                    return 1
                times[provisioner].append(seconds)
    base = statistics.median(times["local-provisioner"])
    for provisioner in PROVISIONERS:
        samples = times[provisioner]
        median = statistics.median(samples)
        print(
            f"{provisioner:22s} start to ready: median {median * 1000:6.0f} ms   "
            f"max {max(samples) * 1000:6.0f} ms   ratio {median / base:4.2f}x   (n={runs})"
        )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    sys.exit(asyncio.run(main(parser.parse_args().runs)))
