"""A local simulated exchange: Kalshi's trade API v2 on 127.0.0.1, with play money.

``watchdog-lab sim kalshi`` serves it; a connection reaches it with
``conn.api_endpoint(host="http://127.0.0.1:PORT")``. It checks every signature and timestamp as
Kalshi does, against the public keys it was given, so a bot's signing, order flow and error
handling can be tried without an account or a network. Modules: ``app`` (routes and the
WebSocket), ``book`` (the matching engine), ``auth`` (signatures and the key registry),
``models`` (orders, fills, accounts), ``errors``.
"""

# The routes (and tornado) are imported by who serves them: ``watchdog_lab.sim.app``.
