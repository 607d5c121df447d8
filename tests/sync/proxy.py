"""A TCP proxy on 127.0.0.1 that can cut a connection after a number of bytes.

It stands for a database (or a network) that drops the connection in the middle of a push:
``cut_after_up`` counts bytes from the client to the server, ``cut_after_down`` bytes from the
server to the client. When either budget is spent, both sockets of that connection are closed
at once (the rest of the chunk that crossed the budget is not forwarded). ``cut_answer_to``
forwards the client's ``cut_answer_nth``-th message holding those bytes (``COMMIT``) and closes
the connection instead of passing the server's answer on: the commit landed, the client never
hears so.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class CuttingProxy:
    upstream: tuple[str, int]
    cut_after_up: int | None = None
    cut_after_down: int | None = None
    cut_answer_to: bytes | None = None
    cut_answer_nth: int = 1
    sent_up: int = 0
    sent_down: int = 0
    cuts: int = 0
    _server: socket.socket = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _drop_answer: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self._server.getsockname()[1])

    def reset(
        self,
        cut_after_up: int | None = None,
        cut_after_down: int | None = None,
        cut_answer_to: bytes | None = None,
        cut_answer_nth: int = 1,
    ) -> None:
        with self._lock:
            self.sent_up = self.sent_down = 0
            self.cut_after_up, self.cut_after_down = cut_after_up, cut_after_down
            self.cut_answer_to, self._drop_answer = cut_answer_to, False
            self.cut_answer_nth = cut_answer_nth

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            pair = (client, server)
            threading.Thread(
                target=self._pump, args=(client, server, True, pair), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(server, client, False, pair), daemon=True
            ).start()

    def _pump(
        self, src: socket.socket, dst: socket.socket, up: bool, pair: tuple[socket.socket, ...]
    ) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self._lock:
                    if up and self.cut_answer_to is not None and self.cut_answer_to in data:
                        self.cut_answer_nth -= data.count(self.cut_answer_to)
                        # The server gets it; its answer is lost.
                        self._drop_answer = self.cut_answer_nth <= 0
                    if not up and self._drop_answer:
                        self.cuts += 1
                        break
                    limit = self.cut_after_up if up else self.cut_after_down
                    done = self.sent_up if up else self.sent_down
                    if limit is not None and done + len(data) > limit:
                        data = data[: max(0, limit - done)]
                        cut = True
                    else:
                        cut = False
                    if up:
                        self.sent_up += len(data)
                    else:
                        self.sent_down += len(data)
                if data:
                    dst.sendall(data)
                if cut:
                    with self._lock:
                        self.cuts += 1
                    break
        except OSError:
            pass
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
