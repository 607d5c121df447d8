"""Cost of the dependency policy's typosquat check against a naive scan of the popular list.

Scenario: names one random edit away from popular ones (the unlisted, slow path that must
look for neighbours), names taken from the list itself (the fast path), a naive check that
computes the edit distance to every one of the ~15,000 listed names, measured on a sample, and
the fair simple peer: a scan of the names of neighbouring length with a linear-time one-edit
test.
Prints microseconds per check for each and the speed-up, and checks that every name the naive
scan flags is refused by the policy too (the policy may refuse more: lookalikes, denylist).

Run: ``python benchmarks/bench_policy.py`` (a few seconds on a 2-core machine).
"""

from __future__ import annotations

import random
import string
import sys
import time
from pathlib import Path

# Run from a checkout without installing: the repository root holds the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watchdog_lab.bots.errors import PackageRefused
from watchdog_lab.bots.policy import DependencyPolicy
from watchdog_lab.bots.popular import load_popular

SEED = 20261107
CHECKS = 2000
NAIVE_SAMPLE = 20
ALPHABET = string.ascii_lowercase + string.digits


def one_edit(name: str, rng: random.Random) -> str:
    i = rng.randrange(len(name))
    kind = rng.randrange(3)
    if kind == 0:
        return name[:i] + rng.choice(ALPHABET) + name[i:]
    if kind == 1 and len(name) > 2:
        return name[:i] + name[i + 1 :]
    return name[:i] + rng.choice(ALPHABET) + name[i + 1 :]


def damerau_levenshtein_at_most_one(a: str, b: str) -> bool:
    """Naive reference: full optimal-string-alignment distance, compared with 1."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)] <= 1


def within_one_edit(a: str, b: str) -> bool:
    """Linear-time test for one insertion, deletion, substitution or adjacent swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        if a[i + 1 :] == b[i + 1 :]:
            return True  # substitution
        return a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2 :] == b[i + 2 :]  # swap
    if len(a) > len(b):
        return a[i + 1 :] == b[i:]
    return a[i:] == b[i + 1 :]


def bucketed(listed: list[str]) -> dict[int, list[str]]:
    buckets: dict[int, list[str]] = {}
    for other in listed:
        buckets.setdefault(len(other), []).append(other)
    return buckets


def bucketed_is_typosquat(name: str, listed: set[str], buckets: dict[int, list[str]]) -> bool:
    """The fair simple peer: only names of a neighbouring length, each compared in linear
    time (what a careful engineer writes in ten lines, without the policy's variant index)."""
    if name in listed:
        return False
    return any(
        within_one_edit(name, other)
        for length in (len(name) - 1, len(name), len(name) + 1)
        for other in buckets.get(length, ())
    )


def naive_is_typosquat(name: str, listed: list[str]) -> bool:
    if name in listed:
        return False
    return any(damerau_levenshtein_at_most_one(name, other) for other in listed)


def per_check_us(policy: DependencyPolicy, names: list[str]) -> tuple[float, int]:
    refused = 0
    start = time.perf_counter()
    for name in names:
        try:
            policy.check(name)
        except PackageRefused:
            refused += 1
    return (time.perf_counter() - start) / len(names) * 1e6, refused


def main() -> int:
    rng = random.Random(SEED)
    popular = load_popular()
    listed = list(popular)
    policy = DependencyPolicy()

    start = time.perf_counter()
    DependencyPolicy().check("warm-up")
    print(f"first policy check (list already loaded): {(time.perf_counter() - start) * 1e3:.1f} ms")

    typos = [one_edit(rng.choice(listed[:2000]), rng) for _ in range(CHECKS)]
    typos = [t for t in typos if t not in popular]
    real = rng.sample(listed, CHECKS)
    typo_us, typo_refused = per_check_us(policy, typos)
    real_us, real_refused = per_check_us(policy, real)
    print(f"unlisted one-edit names: {typo_us:8.1f} us/check, {typo_refused}/{len(typos)} refused")
    print(f"listed names:            {real_us:8.1f} us/check, {real_refused}/{len(real)} refused")

    sample = typos[:NAIVE_SAMPLE]
    start = time.perf_counter()
    naive = [naive_is_typosquat(name.replace("_", "-"), listed) for name in sample]
    naive_us = (time.perf_counter() - start) / len(sample) * 1e6
    refused_by_policy = []
    for name in sample:
        try:
            policy.check(name)
            refused_by_policy.append(False)
        except PackageRefused:
            refused_by_policy.append(True)
    print(f"naive scan of the list:  {naive_us:8.1f} us/check ({naive_us / typo_us:.0f}x slower)")
    buckets, listed_set = bucketed(listed), set(listed)
    start = time.perf_counter()
    fair = [bucketed_is_typosquat(name.replace("_", "-"), listed_set, buckets) for name in typos]
    fair_us = (time.perf_counter() - start) / len(typos) * 1e6
    print(
        f"length-bucketed scan:    {fair_us:8.1f} us/check "
        f"({fair_us / typo_us:.1f}x the policy's time; the fair baseline)"
    )
    if fair[: len(sample)] != naive:
        print("the bucketed scan disagrees with the naive one: the baseline is wrong")
        return 1
    pairs = zip(sample, naive, refused_by_policy, strict=True)
    missed = [name for name, flagged, refused in pairs if flagged and not refused]
    if missed:
        print(f"the policy let through names the naive scan flags: {missed}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
