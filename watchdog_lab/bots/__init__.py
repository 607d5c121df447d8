"""Bots: notebooks promoted to supervised local processes, each with its own environment.

A bot gets its own UUID, venv, kernel, state and log folders and only the connections it was
granted; it runs in the strongest sandbox the machine offers (see :mod:`.sandbox`), which is
reported per bot rather than silently downgraded.
"""

from __future__ import annotations

import sys

# jsonschema (imported under nbformat by the runner, the supervisor and dependency detection)
# builds an RFC 3987 grammar at import when ``rfc3987_syntax`` is installed: ~1 s and ~20 MB per
# process (every runner start, every CLI bots command), for an "iri" format check the notebook
# schema never uses. Marked absent before anything here imports nbformat, jsonschema skips it.
# In a process that already imported jsonschema (a Jupyter server) this changes nothing.
# (None in sys.modules is the import system's own "absent" mark; typeshed admits modules only.)
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None: "absent"
