"""A small Messages API of our own on 127.0.0.1, for the real ``anthropic`` client to talk to.

It records every request (path, headers, exact body bytes) and answers from a script: tool-use
replies, error statuses with headers (``retry-after``), slow replies, or any bytes at all.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"


def tool_use(
    fixed_source: object,
    explanation: object = "Fixed it.",
    *,
    name: str = "propose_fix",
    usage: tuple[int, int] = (321, 54),
    stop_reason: str = "tool_use",
) -> Answer:
    """A Messages API reply whose content is one tool call."""
    message = {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_test",
                "name": name,
                "input": {"fixed_source": fixed_source, "explanation": explanation},
            }
        ],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }
    return Answer(body=json.dumps(message).encode())


def text_only(text: str) -> Answer:
    message = {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    return Answer(body=json.dumps(message).encode())


def error(status: int, kind: str, message: str = "no", **headers: str) -> Answer:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return Answer(status=status, body=json.dumps(body).encode(), headers=headers)


class FakeAnthropic:
    """Start with :meth:`start`; queue answers with :meth:`answer`; read :attr:`requests`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._script: deque[Answer] = deque()
        self.default = tool_use("print('fixed')\n")
        self._stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                fake.requests.append(Recorded(self.path, dict(self.headers.items()), body))
                answer = fake._script.popleft() if fake._script else fake.default
                if answer.delay and fake._stopping.wait(answer.delay):
                    return
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    for key, value in answer.headers.items():
                        self.send_header(key.replace("_", "-"), value)
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, *answers: Answer) -> None:
        self._script.extend(answers)

    def start(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
