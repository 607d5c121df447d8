"""Sphinx configuration of the WatchDog Lab docs site (``make docs``).

The pages are the Markdown files of this folder, read by MyST as they are written for GitHub;
the configuration, command-line, ``%wd``, REST and connection-kind references and the AI Fix
example request are generated from the code by the ``watchdog_docs`` extension in ``_ext/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE / "_ext"), str(ROOT)]

from watchdog_lab._version import __version__  # noqa: E402

project = "WatchDog Lab"
author = "WatchDog Lab contributors"
copyright = "WatchDog Lab contributors"
version = release = __version__

extensions = ["myst_parser", "watchdog_docs"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext"]

# MyST: `:::` fences for the screenshots' figures, anchors for `page.md#heading` links.
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
# The references quote values users copy into config files ('best', 'claude-sonnet-5-5'):
# typographic quotes would not paste back.
smartquotes = False

html_theme = "pydata_sphinx_theme"
html_title = "WatchDog Lab"
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 4,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False
# Every page sits at the top level (the navbar and the home page's sections list them), so the
# left sidebar, which lists a section's children, would stay empty.
html_sidebars: dict[str, list[str]] = {"**": []}
# Offline: no font or analytics fetched at build time; the theme ships its assets.
html_static_path: list[str] = []
