"""The Jupyter server face of WatchDog Lab: the extension app and its thin REST handlers.

Nothing here holds logic another face would need; handlers translate HTTP to calls on the
vault (and later the bot supervisor) and back.
"""

from __future__ import annotations
