"""The simulator's sending against a local HTTP/1.1 server (a stand-in of the model service that
records what it receives): bodies, headers, statuses, keep-alive connections, failures."""

from __future__ import annotations

import _thread
import json
import signal
import socket
import threading
import uuid
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from workshop.errors import ArgumentError, StackError
from workshop.simulator import CHANNEL_HEADER, plan_requests, simulate


class FakeService(ThreadingHTTPServer):
    """Answers ``/health`` and ``/api/predict`` like the model service, and records each request.

    ``fail_every``: every n-th prediction is a 503; ``close_every``: every n-th answer says
    ``Connection: close``; ``drop_every``: every n-th prediction gets no answer at all (the
    connection is closed); ``model_loaded``: what ``/health`` says; ``on_request``: called with
    the request number, before answering.
    """

    daemon_threads = True

    def __init__(self, **options: Any) -> None:
        self.options = {
            "fail_every": 0,
            "close_every": 0,
            "drop_every": 0,
            "model_loaded": True,
            "on_request": None,
            **options,
        }
        self.requests: list[dict[str, Any]] = []
        self.connections: set[int] = set()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn
    # Status line, headers and body leave in one send (flushed after each request): written
    # apart, Nagle and the client's delayed ACK held every answer ~40 ms.
    wbufsize = 1 << 16
    server: FakeService

    def _answer(self, status: int, payload: dict[str, Any], close: bool = False) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path != "/health":
            self._answer(404, {"detail": "Not Found"})
            return
        loaded = self.server.options["model_loaded"]
        self._answer(200 if loaded else 503, {"ok": loaded, "model_loaded": loaded})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        options = self.server.options
        with self.server.lock:
            self.server.requests.append(
                {"path": self.path, "body": body, "headers": dict(self.headers.items())}
            )
            self.server.connections.add(self.client_address[1])
            number = len(self.server.requests)
        if options["on_request"] is not None:
            options["on_request"](number)
        if options["drop_every"] and number % options["drop_every"] == 0:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        close = bool(options["close_every"]) and number % options["close_every"] == 0
        if options["fail_every"] and number % options["fail_every"] == 0:
            self._answer(503, {"detail": "sem modelo"}, close)
        else:
            self._answer(200, {"prediction": 1.0, "prediction_id": str(uuid.uuid4())}, close)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service_factory() -> Iterator[Any]:
    started: list[FakeService] = []

    def start(**options: Any) -> FakeService:
        server = FakeService(**options)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def test_simulate_sends_the_plan_with_the_channel_header(service_factory: Any) -> None:
    service = service_factory(fail_every=10)
    summary = simulate(
        n=200, concurrency=4, start="2025-06-01", days=7, url=service.url, seed=3, progress=False
    )
    assert (summary.sent, summary.ok, summary.errors) == (200, 180, 20)
    assert summary.by_status == {"200": 180, "503": 20}
    assert len(summary.prediction_ids) == 180 and len(set(summary.prediction_ids)) == 180
    assert summary.rps > 0 and summary.seconds > 0
    assert summary.first_error == 'HTTP 503: {"detail": "sem modelo"}'
    bodies = [r["body"] for r in service.requests]
    assert sorted(bodies, key=json.dumps) == sorted(
        plan_requests(200, start="2025-06-01", days=7, seed=3), key=json.dumps
    )
    assert {r["path"] for r in service.requests} == {"/api/predict"}
    assert {r["headers"][CHANNEL_HEADER] for r in service.requests} == {"simulator"}
    assert {r["headers"]["Content-Type"] for r in service.requests} == {"application/json"}
    text = str(summary)
    assert "180 ok" in text and "20 com erro" in text and "req/s" in text
    assert summary.as_dict().keys() >= {"sent", "ok", "errors", "seconds", "rps", "by_status"}


def test_each_sender_keeps_its_connection_alive(service_factory: Any) -> None:
    service = service_factory()
    summary = simulate(n=300, concurrency=3, url=service.url, seed=1, progress=False)
    assert summary.ok == 300
    assert len(service.connections) == 3  # one per sender, not one per request


def test_a_closed_connection_is_reopened_and_nothing_is_lost(service_factory: Any) -> None:
    service = service_factory(close_every=7)
    summary = simulate(n=100, concurrency=2, url=service.url, seed=1, progress=False)
    assert (summary.ok, summary.errors) == (100, 0)
    assert len(service.requests) == 100
    assert len(service.connections) >= 100 // 7  # a new one after every "Connection: close"


def test_requests_without_an_answer_are_counted_not_raised(service_factory: Any) -> None:
    service = service_factory(drop_every=5)
    summary = simulate(n=50, concurrency=2, url=service.url, seed=1, progress=False)
    assert summary.by_status == {"200": 40, "sem resposta": 10}
    assert (summary.ok, summary.errors) == (40, 10)
    assert summary.first_error is not None and summary.first_error.startswith("sem conexão (")


def test_without_a_service_or_a_model_it_says_what_to_do(service_factory: Any) -> None:
    with socket.socket() as probe:  # a free port: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StackError, match="workshop serve"):
        simulate(n=5, url=f"http://127.0.0.1:{port}", progress=False)
    service = service_factory(model_loaded=False)
    with pytest.raises(StackError, match="sem modelo carregado"):
        simulate(n=5, url=service.url, progress=False)
    assert service.requests == []  # no prediction was sent to a service without a model


def test_a_url_with_a_path_is_not_the_service(service_factory: Any) -> None:
    service = service_factory()
    with pytest.raises(ArgumentError, match="não é o serviço do modelo"):
        simulate(n=5, url=service.url + "/api/predict", progress=False)
    assert service.requests == []


def test_an_interrupted_run_stops_sending(service_factory: Any) -> None:
    """Ctrl+C (or the notebook's stop button) reaches the main thread: no request after it."""

    def interrupt_at_the_tenth(number: int) -> None:
        if number == 10:
            _thread.interrupt_main()

    service = service_factory(on_request=interrupt_at_the_tenth)
    # interrupt_main() does nothing unless Python's own SIGINT handler is installed, as in a
    # terminal or a notebook kernel; earlier code in this process may have left another one.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            simulate(n=5000, concurrency=2, url=service.url, seed=1, progress=False)
    finally:
        signal.signal(signal.SIGINT, previous)
        if previous is not signal.default_int_handler:  # which code left it: pytest's summary
            warnings.warn(f"SIGINT handler before this test: {previous!r}", stacklevel=1)
    sent = len(service.requests)
    threading.Event().wait(0.3)  # the requests in flight (one per sender) finish
    after = len(service.requests)
    threading.Event().wait(0.3)  # a sender still running would send more in this time
    assert len(service.requests) == after, "requests were still sent after the interrupt"
    assert after - sent <= 2  # at most the two that were in flight
    # The main thread sees the interrupt within its 0.1-s wait: far fewer than the 5,000.
    assert 10 <= after < 1000, after
