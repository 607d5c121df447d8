"""What opening the vault costs at the default Argon2id cost (t=3, 64 MiB, p=4).

Unlock is deliberately slow (it is the brute-force defence); this measures how slow, next to
the cost of everything else an unlock does (header checks, the rate-limit write, audit). The
baseline is the raw Argon2id derivation alone, run side by side. Run from the repository root:

    python benchmarks/bench_unlock.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watchdog_lab.vault import RateLimitPolicy, Vault
from watchdog_lab.vault.crypto import KdfParams, derive_key

PASSWORD = "benchmark password 1"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    params = KdfParams()
    with tempfile.TemporaryDirectory() as tmp:
        vault = Vault(Path(tmp) / "h", rate_limit=RateLimitPolicy(free_attempts=10**6))
        t0 = time.perf_counter()
        vault.create(PASSWORD)
        create_s = time.perf_counter() - t0
        unlock, derive = [], []
        for _ in range(args.runs):
            vault.lock()
            t0 = time.perf_counter()
            vault.unlock(PASSWORD)
            unlock.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            derive_key(PASSWORD, os.urandom(16), params)
            derive.append(time.perf_counter() - t0)
        vault.close()
    u, d = statistics.median(unlock), statistics.median(derive)
    print(
        f"Argon2id cost: t={params.time_cost}, m={params.memory_kib // 1024} MiB, "
        f"p={params.parallelism}"
    )
    print(f"create vault:             {create_s * 1000:8.1f} ms")
    print(f"unlock (median of {args.runs}):    {u * 1000:8.1f} ms   (min {min(unlock) * 1000:.1f})")
    print(f"baseline Argon2id alone:  {d * 1000:8.1f} ms   (min {min(derive) * 1000:.1f})")
    print(
        f"unlock / baseline:        {u / d:8.2f}x  "
        f"(the rest of unlock costs {max(0.0, u - d) * 1000:.1f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
