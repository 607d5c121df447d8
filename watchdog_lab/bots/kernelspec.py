"""Per-bot kernelspecs, so a bot's notebook opens interactively on exactly the bot's venv.

Each bot gets ``$WATCHDOG_LAB_HOME/kernels/watchdog-bot-<uuid>/`` filled from the template in
``kernels/watchdog-bot/`` (shipped inside the package as ``watchdog_lab/kernels``). The file is
written directly rather than through ``ipykernel install``: it takes milliseconds instead of
half a second, needs no interpreter start, and the result is exactly the template.

The spec carries the bot's id and nothing else: no connection, token or other secret is ever
written into ``kernel.json`` (anyone who can read the home can read it, and Jupyter shows it
through its REST API). Secrets reach kernels through the broker and the runner only.

How Jupyter finds these specs (pick one, both are tested):

- In the server extension, append :func:`kernel_dirs` to the kernelspec manager's search
  path: ``ksm.kernel_dirs = [*ksm.kernel_dirs, *kernel_dirs(home)]``. The default search
  path stays in front, so the user's own kernels are unaffected.
- For anything else that resolves kernels by name (``jupyter lab`` started by hand,
  nbclient/papermill in a runner), put :func:`jupyter_path_entry` (the home itself) on
  ``JUPYTER_PATH``: Jupyter looks for kernels in ``<each data dir>/kernels``, which is where
  the specs live.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import watchdog_lab

from ..paths import ensure_private_dir, home_dir
from .errors import EnvironmentBuildFailed

__all__ = [
    "BOT_PROVISIONER",
    "KERNELS_FOLDER",
    "KERNEL_NAME_PREFIX",
    "TEMPLATE_NAME",
    "display_name",
    "jupyter_path_entry",
    "kernel_dirs",
    "kernel_name",
    "kernelspec_dir",
    "names_bot_provisioner",
    "remove_kernelspec",
    "template_dir",
    "write_kernelspec",
]

KERNEL_NAME_PREFIX = "watchdog-bot-"
#: The provisioner every bot kernelspec names (entry point in pyproject.toml): it confines a
#: kernel opened on the spec exactly as the bot.
BOT_PROVISIONER = "watchdog-lab-bot"
TEMPLATE_NAME = "watchdog-bot"
KERNELS_FOLDER = "kernels"
DISPLAY_NAME_MAX = 60

# Our placeholders, filled in one pass so a bot name that contains "{bot_id}" stays literal.
# Jupyter's own ({connection_file}, {resource_dir}) are left for Jupyter.
_PLACEHOLDER = re.compile(r"\{(python|bot_name|bot_id)\}")


def kernel_name(bot_id: str) -> str:
    """``watchdog-bot-<uuid>``; refuses anything but a UUID, since it becomes a folder name."""
    try:
        canonical = str(uuid.UUID(str(bot_id)))
    except ValueError:
        raise ValueError(f"Bot id {bot_id!r} is not a UUID.") from None
    return KERNEL_NAME_PREFIX + canonical


def kernel_dirs(home: str | os.PathLike[str] | None = None) -> list[str]:
    """Folders to add to ``KernelSpecManager.kernel_dirs`` so bot kernels are listed."""
    return [str(home_dir(home) / KERNELS_FOLDER)]


def jupyter_path_entry(home: str | os.PathLike[str] | None = None) -> str:
    """The entry to add to ``JUPYTER_PATH`` so Jupyter finds the bots' specs by itself."""
    return str(home_dir(home))


def kernelspec_dir(home: str | os.PathLike[str] | None, bot_id: str) -> Path:
    """Where the bot's spec lives (whether or not it has been written)."""
    return home_dir(home) / KERNELS_FOLDER / kernel_name(bot_id)


def names_bot_provisioner(spec_dir: Path) -> bool:
    """Whether the spec in ``spec_dir`` names the provisioner that confines its kernels as
    the bot (specs written before it existed do not)."""
    try:
        spec = json.loads((spec_dir / "kernel.json").read_text(encoding="utf-8"))
        provisioner: object = spec["metadata"]["kernel_provisioner"]["provisioner_name"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return provisioner == BOT_PROVISIONER


def template_dir() -> Path:
    """The template folder: inside the installed package, else at a source checkout's root."""
    package = Path(watchdog_lab.__file__).resolve().parent
    for candidate in (package / "kernels", package.parent / "kernels"):
        if (candidate / TEMPLATE_NAME / "kernel.json").is_file():
            return candidate / TEMPLATE_NAME
    raise EnvironmentBuildFailed(
        "The bot kernelspec template is missing from this installation; reinstall watchdog-lab."
    )


def display_name(bot_name: str) -> str:
    """The bot's name as a launcher label: printable, one line, not overly long."""
    printable = "".join(
        " " if unicodedata.category(char).startswith("C") else char for char in str(bot_name)
    )
    name = " ".join(printable.split())
    if len(name) > DISPLAY_NAME_MAX:
        name = name[: DISPLAY_NAME_MAX - 1].rstrip() + "…"
    return name or "unnamed"


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda match: values[match.group(1)], value)
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    return value


def write_kernelspec(
    home: str | os.PathLike[str] | None,
    bot_id: str,
    bot_name: str,
    venv_python: str | os.PathLike[str],
) -> Path:
    """Write the bot's kernelspec and return its folder (``.../watchdog-bot-<uuid>``).

    ``venv_python`` is kept as given (made absolute, never resolved): ``<venv>/bin/python``
    is a symlink to the base interpreter, and only through the link does Python know it runs
    in the venv. Rewriting an existing spec replaces it atomically, so a Jupyter server
    listing kernels at that moment sees the old file or the new one, never half of one.
    """
    name = kernel_name(bot_id)
    canonical_id = name.removeprefix(KERNEL_NAME_PREFIX)
    template = template_dir()
    spec = json.loads((template / "kernel.json").read_text(encoding="utf-8"))
    values = {
        "python": str(Path(venv_python).absolute()),
        "bot_name": display_name(bot_name),
        "bot_id": canonical_id,
    }
    spec = _fill(spec, values)

    kernels = ensure_private_dir(home_dir(home) / KERNELS_FOLDER)
    target = ensure_private_dir(kernels / name)
    for resource in sorted(template.iterdir()):
        if resource.is_file() and resource.name != "kernel.json":
            shutil.copyfile(resource, target / resource.name)
    staging = target / ".kernel.json.tmp"
    staging.write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(staging, target / "kernel.json")
    return target


def remove_kernelspec(home: str | os.PathLike[str] | None, bot_id: str) -> bool:
    """Delete the bot's kernelspec; False if there was none."""
    target = kernelspec_dir(home, bot_id)
    if not target.exists():
        return False
    shutil.rmtree(target)
    return True
