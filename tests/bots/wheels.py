"""Tiny real wheels for tests: a zip with the files, METADATA, WHEEL and a hashed RECORD.

Tests serve them from a local folder (``--find-links``) so installs never touch the internet
and a hostile package can be written exactly as an attacker would ship it.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

__all__ = ["build_wheel"]

# A fixed timestamp keeps rebuilt wheels byte-identical, so uv's cache treats them as one.
_EPOCH = (2020, 1, 1, 0, 0, 0)


def _hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def build_wheel(
    folder: str | Path,
    name: str,
    version: str,
    files: Mapping[str, str | bytes],
    requires: Sequence[str] = (),
    *,
    hide_from_record: Collection[str] = (),
) -> Path:
    """Write ``<name>-<version>-py3-none-any.whl`` into ``folder`` and return its path.

    ``files`` maps paths inside the wheel (relative to site-packages, ``/`` separated) to
    their content; ``requires`` become ``Requires-Dist`` lines. ``hide_from_record`` leaves
    those paths out of the wheel's RECORD, as a wheel hiding a file would.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = canonicalize_name(name).replace("-", "_")
    dist_info = f"{stem}-{version}.dist-info"
    metadata = "".join(
        [
            "Metadata-Version: 2.1\n",
            f"Name: {name}\n",
            f"Version: {version}\n",
            *(f"Requires-Dist: {req}\n" for req in requires),
        ]
    )
    wheel_meta = "Wheel-Version: 1.0\nGenerator: watchdog-lab-tests\nRoot-Is-Purelib: true\n"
    wheel_meta += "Tag: py3-none-any\n"
    contents: dict[str, bytes] = {
        path: text.encode("utf-8") if isinstance(text, str) else text
        for path, text in files.items()
    }
    contents[f"{dist_info}/METADATA"] = metadata.encode("utf-8")
    contents[f"{dist_info}/WHEEL"] = wheel_meta.encode("utf-8")
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, data in contents.items():
        if path not in hide_from_record:
            writer.writerow([path, _hash(data), str(len(data))])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    contents[f"{dist_info}/RECORD"] = record.getvalue().encode("utf-8")
    target = folder / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in contents.items():
            info = zipfile.ZipInfo(path, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return target
