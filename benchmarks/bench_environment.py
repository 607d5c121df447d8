"""What a bot environment costs: build time with a warm uv cache, and disk per bot.

Promoting a notebook builds a venv (uv venv + ipykernel + the SDK); the promise is seconds and
megabytes. A build resolves first (so every distribution can be checked), then installs
exactly that set; both steps are timed together, for a bot without packages and for one with
a small package of its own. The baseline is what a plain ``python -m venv`` +
``pip install ipykernel`` costs with pip's cache warm. Both are warmed once before timing.
Run from the repository root:

    python benchmarks/bench_environment.py [--runs 5] [--pip-runs 2] [--package iniconfig]

Exits with status 1 if a warm uv build misses the target time or a venv's unique disk
exceeds the target size.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watchdog_lab.bots.environment import build_environment, unique_disk_bytes, venv_python
from watchdog_lab.bots.kernelspec import write_kernelspec

TARGET_SECONDS = 5.0
TARGET_UNIQUE_MB = 20.0
MB = 1024 * 1024


def apparent_mb(root: Path) -> float:
    """Size as if nothing were shared: every path's blocks, links counted each time."""
    return sum(p.lstat().st_blocks * 512 for p in root.rglob("*")) / MB


def uv_build(
    root: Path, cache: Path, index: int, requirements: Sequence[str] = ()
) -> tuple[float, Path]:
    venv = root / f"uv-{'-'.join(requirements) or 'bare'}-{index}" / "venv"
    started = time.perf_counter()
    build_environment(venv, list(requirements), cache_dir=cache)
    return time.perf_counter() - started, venv


def pip_build(root: Path, index: int, ipykernel: str) -> tuple[float, Path]:
    venv = root / f"pip-{index}" / "venv"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "install", "-q", f"ipykernel=={ipykernel}"], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"pip failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started, venv


def report(label: str, seconds: list[float], venvs: list[Path]) -> tuple[float, float]:
    unique = statistics.mean(unique_disk_bytes(v) for v in venvs) / MB
    median = statistics.median(seconds)
    print(
        f"{label:<34} build median {median:6.2f} s  (min {min(seconds):5.2f}, n={len(seconds)})"
        f"   unique disk {unique:7.1f} MB / venv   apparent {apparent_mb(venvs[0]):6.1f} MB"
    )
    return median, unique


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed uv builds")
    parser.add_argument("--pip-runs", type=int, default=2, help="timed venv+pip builds (0: skip)")
    parser.add_argument(
        "--package", default="iniconfig", help="a small package for the bot-with-a-package runs"
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="wd-bench-env-"))
    cache = root / "cache" / "uv"
    ipykernel = importlib.metadata.version("ipykernel")
    try:
        print(f"Warming the uv cache (ipykernel {ipykernel}) ...")
        cold, _ = uv_build(root, cache, -1)
        print(f"  first build with an empty cache: {cold:.2f} s")
        runs = [uv_build(root, cache, i) for i in range(args.runs)]
        uv_median, uv_unique = report(
            "uv venv + ipykernel + SDK (warm)", [t for t, _ in runs], [v for _, v in runs]
        )

        uv_build(root, cache, -1, [args.package])
        with_package = [uv_build(root, cache, i, [args.package]) for i in range(args.runs)]
        report(
            f"... + {args.package} (warm)",
            [t for t, _ in with_package],
            [v for _, v in with_package],
        )

        home = root / "home"
        bot_id = str(uuid.uuid4())
        started = time.perf_counter()
        for _ in range(100):
            write_kernelspec(home, bot_id, "Benchmark bot", venv_python(runs[0][1]))
        print(f"{'write_kernelspec':<34} {(time.perf_counter() - started) * 10:6.2f} ms per spec")

        if args.pip_runs:
            print("Warming pip's cache ...")
            pip_build(root, -1, ipykernel)
            pip_runs = [pip_build(root, i, ipykernel) for i in range(args.pip_runs)]
            pip_median, _ = report(
                "python -m venv + pip (warm)", [t for t, _ in pip_runs], [v for _, v in pip_runs]
            )
            print(f"uv is {pip_median / uv_median:.1f}x faster per bot")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    ok = uv_median <= TARGET_SECONDS and uv_unique <= TARGET_UNIQUE_MB
    print(
        f"target: <= {TARGET_SECONDS:.0f} s and <= {TARGET_UNIQUE_MB:.0f} MB unique per bot: "
        + ("met" if ok else "MISSED")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
