"""Bots: notebooks promoted to supervised local processes, each with its own environment.

A bot gets its own UUID, venv, kernel, state and log folders and only the connections it was
granted; it runs in the strongest sandbox the machine offers (see :mod:`.sandbox`), which is
reported per bot rather than silently downgraded.
"""
