"""The model service API (in-process, FastAPI's TestClient) against a trained model.

Every endpoint; every class of bad input answered with a 4xx and a pt-BR message and logging
nothing; exactly one event per successful prediction with the right channel; no model → 503.
The real-server behaviour (uvicorn subprocess, events in the engine, hot pick-up of a promoted
version) is in ``test_service_process.py``.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from workshop import service
from workshop.config import Settings, get_settings
from workshop.dataset import CATALOGUE
from workshop.events import EventLogger, PredictionEvent
from workshop.events.schema import encode_line
from workshop.monitoring.queries import EVENT_COLUMNS

OK_BODY = {"date": "2026-01-15", "item_nbr": CATALOGUE[0].item_nbr, "onpromotion": False}
JSON = {"content-type": "application/json"}
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


# A new prediction event's fields, in the order of DESIGN.md (Events): the API's answer. The
# feedback loop's fields come later, when the sale is known.
EVENT_FIELDS = EVENT_COLUMNS[: EVENT_COLUMNS.index("actual")]


class SpyLogger:
    """The real EventLogger, counting what the service emits."""

    def __init__(self, inner: EventLogger) -> None:
        self.inner = inner
        self.events: list[dict[str, Any]] = []  # the documents, each a valid PredictionEvent

    def emit(self, event: PredictionEvent | dict[str, Any]) -> None:
        doc = event.to_document() if isinstance(event, PredictionEvent) else dict(event)
        assert PredictionEvent.from_document(doc).to_document() == doc  # the schema, exactly
        self.events.append(doc)
        self.inner.emit(event)

    def emit_line(self, line: bytes) -> None:  # what the service calls: one encoded line
        doc = json.loads(line)
        assert encode_line(doc) == line  # exactly what emit() would have written
        self.emit(doc)

    def stats(self) -> dict[str, Any]:
        return self.inner.stats()

    def flush(self, timeout: float = 10.0) -> bool:
        return self.inner.flush(timeout=timeout)


_TRAINED_BASE: list[Path] = []


def trained_home(tmp_path_factory: pytest.TempPathFactory, name: str) -> Settings:
    """Settings with their own WORKSHOP_HOME holding one promoted model (v1).

    The model is trained once per test session and its registry copied (training takes tens of
    seconds; a copy milliseconds).
    """
    from workshop.modeling import train_and_register

    if not _TRAINED_BASE:
        base = tmp_path_factory.mktemp("trained-base")
        result = train_and_register(settings=get_settings(home=base), promote=True, progress=False)
        assert result.version == "v1"
        _TRAINED_BASE.append(base)
    home = tmp_path_factory.mktemp(name)
    settings = get_settings(home=home)
    shutil.copytree(get_settings(home=_TRAINED_BASE[0]).models_dir, settings.models_dir)
    return settings


def register_copy(settings: Settings, of: str = "v1", promote: bool = True) -> str:
    """A new registry version holding the same fitted model (fast stand-in for a retrain)."""
    from workshop.modeling import Registry

    registry = Registry(settings)
    version = registry.register(registry.load(of), registry.card(of))
    if promote:
        registry.promote(version)
    return version


@pytest.fixture(scope="module")
def trained_settings(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return trained_home(tmp_path_factory, "service-home")


@pytest.fixture(scope="module")
def spy(trained_settings: Settings) -> Iterator[SpyLogger]:
    logger = EventLogger.from_settings(trained_settings)
    yield SpyLogger(logger)
    logger.close()


@pytest.fixture(scope="module")
def client(trained_settings: Settings, spy: SpyLogger) -> Iterator[TestClient]:
    # events handed to the logger at once, so a test can count them right after a response
    app = service.create_app(trained_settings, logger=spy)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture()
def no_new_events(spy: SpyLogger) -> Iterator[None]:
    before = len(spy.events)
    yield
    assert len(spy.events) == before, "a rejected request was logged as a prediction"


# --------------------------------------------------------------------------- happy paths


def test_predict_by_item_nbr_logs_one_http_event(client: TestClient, spy: SpyLogger) -> None:
    before = len(spy.events)
    resp = client.post("/api/predict", json=OK_BODY)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert list(body) == EVENT_FIELDS
    assert body["model_version"] == "v1" and body["channel"] == "http"
    assert body["prediction"] >= 0 and body["latency_ms"] > 0
    assert UUID_RE.fullmatch(body["prediction_id"])
    assert (body["date"], body["item_nbr"], body["product"], body["family"]) == (
        "2026-01-15",
        CATALOGUE[0].item_nbr,
        CATALOGUE[0].product,
        CATALOGUE[0].family,
    )
    assert body["onpromotion"] is False
    assert len(spy.events) == before + 1
    # the answer is the logged event itself: the same bytes, so the same values to the last digit
    assert spy.events[-1] == body
    assert encode_line(body) == resp.content


def test_answer_without_logging_is_the_same_event_not_written(
    client: TestClient, spy: SpyLogger
) -> None:
    service = client.app.state.service  # type: ignore[attr-defined]
    before = len(spy.events)
    service.log_events = False
    try:
        resp = client.post("/api/predict", json=OK_BODY)
    finally:
        service.log_events = True
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert PredictionEvent.from_document(body).to_document() == body  # a complete event
    assert len(spy.events) == before  # nothing written
    logged = client.post("/api/predict", json=OK_BODY).json()
    assert len(spy.events) == before + 1
    assert {
        k: v for k, v in logged.items() if k not in {"@timestamp", "prediction_id", "latency_ms"}
    } == {k: v for k, v in body.items() if k not in {"@timestamp", "prediction_id", "latency_ms"}}


def test_predict_by_product_name_or_by_number(client: TestClient) -> None:
    product = CATALOGUE[3]
    by_name = client.post(
        "/api/predict", json={"date": "2026-03-02", "product": product.product, "onpromotion": True}
    )
    by_item = client.post(
        "/api/predict",
        json={"date": "2026-03-02", "item_nbr": product.item_nbr, "onpromotion": True},
    )
    assert by_name.status_code == by_item.status_code == 200
    assert by_name.json()["item_nbr"] == product.item_nbr
    # the same question gives the same answer, with a new prediction id
    assert by_name.json()["prediction"] == pytest.approx(by_item.json()["prediction"])
    assert by_name.json()["prediction_id"] != by_item.json()["prediction_id"]


def test_simulator_channel_header(client: TestClient, spy: SpyLogger) -> None:
    resp = client.post("/api/predict", json=OK_BODY, headers={"X-Workshop-Channel": "simulator"})
    assert resp.status_code == 200
    assert spy.events[-1]["channel"] == "simulator"
    resp = client.post("/api/predict", json=OK_BODY, headers={"X-Workshop-Channel": "http"})
    assert spy.events[-1]["channel"] == "http"


def test_products(client: TestClient) -> None:
    resp = client.get("/api/products")
    assert resp.status_code == 200
    assert resp.json() == [
        {
            "item_nbr": p.item_nbr,
            "product": p.product,
            "family": p.family,
            "perishable": p.perishable,
        }
        for p in CATALOGUE
    ]


def test_health_with_a_model(client: TestClient) -> None:
    resp = client.get("/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["ok"] is True and body["model_loaded"] is True and body["model_version"] == "v1"
    assert {"transport", "state", "spool_size", "sent"} <= set(body["events"])
    assert body["events"]["transport"] == "elasticsearch"
    assert body["status"] == "ok" and body["events"]["reasons"] == []


def test_health_is_degraded_while_sends_hang(trained_settings: Settings, tmp_path: Path) -> None:
    """An engine that accepts and never answers: /health must not say ok for long."""
    from tests.unit.events.fakes import FakeTransport

    transport = FakeTransport()
    transport.gate.clear()
    logger = EventLogger(transport, tmp_path / "spool", stale_after=0.5, linger=0.05)
    app = service.create_app(trained_settings, logger=logger)
    try:
        with TestClient(app) as hung:
            assert hung.post("/api/predict", json=OK_BODY).status_code == 200
            deadline = time.monotonic() + 10
            body = hung.get("/health").json()
            while body["status"] == "ok" and time.monotonic() < deadline:
                time.sleep(0.1)
                body = hung.get("/health").json()
            assert body["status"] == "degraded", body
            assert body["events"]["queued"] == 1
            assert any("nenhum envio deu certo" in r for r in body["events"]["reasons"])
            transport.gate.set()
    finally:
        transport.gate.set()
        logger.close()


def test_docs_load_swagger_ui_from_the_service_itself(client: TestClient) -> None:
    # Issue 13: /docs was blank offline (Swagger UI from a CDN). Every asset it names is local.
    import re

    docs = client.get("/docs")
    assert docs.status_code == 200
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", docs.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert "cdn" not in docs.text.lower() and "validator.swagger.io" not in docs.text
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 500, url
    assert client.get("/redoc").status_code == 404  # ReDoc would load fonts from Google


def test_form_refuses_a_date_past_the_horizon_and_keeps_what_was_typed(
    client: TestClient, no_new_events: None
) -> None:
    resp = client.post("/", data={"date": "2100-12-31", "item_nbr": "103520"})
    assert resp.status_code == 422
    assert "fora do horizonte do modelo" in resp.text
    assert 'value="2100-12-31"' in resp.text  # the participant's input, not a clamped one


def test_form_errors_speak_the_participants_language(client: TestClient, no_new_events: None):
    resp = client.post("/", data={"date": "2026-01-15", "item_nbr": "999999"})
    assert resp.status_code == 422
    assert "escolha um dos produtos da lista" in resp.text
    for api_word in ("item_nbr", "GET /api/products", "CATALOGUE"):
        assert api_word not in resp.text.split('id="erro"')[1].split("</p>")[0], api_word


def test_openapi_docs(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    schema = client.get("/openapi.json").json()
    assert {"/api/predict", "/api/products", "/health"} <= set(schema["paths"])
    predict = schema["paths"]["/api/predict"]["post"]
    assert {"200", "422", "503"} <= set(predict["responses"])
    params = {p["name"]: p for p in predict.get("parameters", [])}
    assert params["X-Workshop-Channel"]["in"] == "header"
    assert params["X-Workshop-Channel"]["schema"]["enum"] == ["http", "simulator"]
    # The body is parsed in one pydantic pass (validation.parse_body); the document still says
    # exactly what PredictRequest accepts.
    body = predict["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["date", "onpromotion"]
    assert set(body["properties"]) == {"date", "item_nbr", "product", "onpromotion"}
    assert body["additionalProperties"] is False
    assert body["oneOf"] == [{"required": ["item_nbr"]}, {"required": ["product"]}]
    assert body["properties"]["item_nbr"]["enum"] == [p.item_nbr for p in CATALOGUE]
    assert body["properties"]["date"]["format"] == "date"
    assert re.match(body["properties"]["date"]["pattern"], "2028-12-31")
    assert not re.match(body["properties"]["date"]["pattern"], "2029-01-01")
    assert not re.match(body["properties"]["date"]["pattern"], "2023-12-31")
    # the answer's fields are the event's (the answer is the logged event)
    answer = schema["components"]["schemas"]["PredictResponse"]
    assert list(answer["properties"]) == EVENT_FIELDS
    assert set(answer["required"]) == set(answer["properties"])


def test_openapi_text_is_portuguese(client: TestClient) -> None:
    """What /docs shows a participant is pt-BR: no FastAPI default ("Successful Response") and
    no English docstring of a model leaking in as a description."""
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"description", "summary"} and isinstance(value, str):
                    texts.append(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(client.get("/openapi.json").json())
    assert len(texts) > 20
    english = re.compile(r"\b(the|is|of|and|an|Successful|Response|Validation)\b")
    assert [t for t in texts if english.search(t)] == []


# --------------------------------------------------------------------------- bad input

BAD_JSON: list[tuple[str, dict[str, Any], int, str]] = [
    ("impossible date", {**OK_BODY, "date": "2026-02-30"}, 422, "Data inexistente: '2026-02-30'"),
    ("month 13", {**OK_BODY, "date": "2026-13-01"}, 422, "Data inexistente"),
    ("not a date", {**OK_BODY, "date": "amanhã"}, 422, "Data inválida"),
    ("other format", {**OK_BODY, "date": "15/01/2026"}, 422, "use o formato AAAA-MM-DD"),
    ("empty date", {**OK_BODY, "date": ""}, 422, "Data inválida"),
    ("before 2000", {**OK_BODY, "date": "1999-12-31"}, 422, "Data fora do horizonte do modelo"),
    ("after 2100", {**OK_BODY, "date": "2101-01-01"}, 422, "01/01/2024 a 31/12/2028"),
    # Issue 13: 2100-12-31 was answered (21,293 litres of milk); past the horizon is refused.
    ("past the horizon", {**OK_BODY, "date": "2100-12-31"}, 422, "horizonte do modelo"),
    ("before the history", {**OK_BODY, "date": "2023-12-31"}, 422, "horizonte do modelo"),
    ("unknown item", {**OK_BODY, "item_nbr": "999999"}, 422, "Produto desconhecido"),
    (
        "unknown name",
        {"date": "2026-01-15", "product": "Caviar", "onpromotion": False},
        422,
        "Produto desconhecido",
    ),
    # Issue 17: the API takes exactly what its OpenAPI schema says (schemathesis checks it).
    ("item and name", {**OK_BODY, "product": CATALOGUE[0].product}, 422, "não pelos dois"),
    ("item with spaces", {**OK_BODY, "item_nbr": " 103520"}, 422, "Produto desconhecido"),
    (
        "name in other case",
        {"date": "2026-01-15", "product": CATALOGUE[0].product.upper(), "onpromotion": False},
        422,
        "Use o nome exato",
    ),
    ("null item", {**OK_BODY, "item_nbr": None}, 422, "não null"),
    ("date with spaces", {**OK_BODY, "date": " 2026-01-15"}, 422, "sem espaços"),
    ("no product", {"date": "2026-01-15", "onpromotion": False}, 422, "Informe o produto"),
    ("missing date", {"item_nbr": "103520", "onpromotion": False}, 422, "ausente: date"),
    ("missing flag", {"date": "2026-01-15", "item_nbr": "103520"}, 422, "ausente: onpromotion"),
    ("extra field", {**OK_BODY, "store": 1}, 422, "Campo desconhecido: store"),
    ("date as number", {**OK_BODY, "date": 20260115}, 422, "O campo date deve ser texto"),
    ("item as number", {**OK_BODY, "item_nbr": 103520}, 422, "O campo item_nbr deve ser texto"),
    ("flag as text", {**OK_BODY, "onpromotion": "sim"}, 422, "onpromotion deve ser true ou false"),
    ("flag as number", {**OK_BODY, "onpromotion": 1}, 422, "onpromotion deve ser true ou false"),
    ("null date", {**OK_BODY, "date": None}, 422, "O campo date deve ser texto"),
]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [case[1:] for case in BAD_JSON],
    ids=[case[0] for case in BAD_JSON],
)
def test_bad_json_input_is_a_pt_br_4xx(
    client: TestClient, no_new_events: None, body: dict[str, Any], status: int, message: str
) -> None:
    resp = client.post("/api/predict", json=body)
    assert resp.status_code == status, resp.text
    assert message in resp.json()["detail"]


BAD_BODIES: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("not json", b"date=2026-01-15&item_nbr=103520", JSON, 400, "não é um JSON válido"),
    ("truncated json", b'{"date": "2026-01-15", ', JSON, 400, "não é um JSON válido"),
    ("json array", b"[1, 2, 3]", JSON, 400, "O corpo deve ser um objeto JSON"),
    ("json string", b'"2026-01-15"', JSON, 400, "O corpo deve ser um objeto JSON"),
    ("empty body", b"", JSON, 422, "O corpo da requisição está vazio"),
    ("invalid utf-8", b'{"date": "\xff\xfe"}', JSON, 400, "Não foi possível ler o corpo"),
    ("deep nesting", b"[" * 16000, JSON, 400, "Não foi possível ler o corpo"),
    ("text/plain", b'{"date": "2026-01-15"}', {"content-type": "text/plain"}, 415, "JSON"),
    ("form encoded", b"date=x", {"content-type": "application/x-www-form-urlencoded"}, 415, "JSON"),
    ("no content type", b'{"date": "2026-01-15"}', {}, 415, "Content-Type: application/json"),
    ("over 16 KiB", b'{"date": "' + b"9" * 16400 + b'"}', JSON, 413, "passa de 16 KiB"),
]


@pytest.mark.parametrize(
    ("content", "headers", "status", "message"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
def test_bad_bodies_are_a_pt_br_4xx(
    client: TestClient,
    no_new_events: None,
    content: bytes,
    headers: dict[str, str],
    status: int,
    message: str,
) -> None:
    resp = client.post("/api/predict", content=content, headers=headers)
    assert resp.status_code == status, resp.text
    assert message in resp.json()["detail"]


def test_streamed_body_over_16_kib_is_413(client: TestClient, no_new_events: None) -> None:
    chunks = iter([b'{"date": "', b"9" * 9000, b"9" * 9000, b'"}'])  # no Content-Length
    resp = client.post("/api/predict", content=chunks, headers=JSON)
    assert resp.status_code == 413
    assert "16 KiB" in resp.json()["detail"]


def test_a_body_just_under_16_kib_is_read(client: TestClient) -> None:
    body = b'{"date": "2026-01-15", "item_nbr": "103520", "onpromotion": false' + b" " * 16000
    assert len(body) < service.MAX_BODY_BYTES
    resp = client.post("/api/predict", content=body + b"}", headers=JSON)
    assert resp.status_code == 200  # the limit is on size, not on whitespace


@pytest.mark.parametrize("value", ["widget", "HTTP", " simulator"])
def test_bad_channel_header(client: TestClient, no_new_events: None, value: str) -> None:
    resp = client.post("/api/predict", json=OK_BODY, headers={"X-Workshop-Channel": value})
    assert resp.status_code == 422
    assert "Cabeçalho X-Workshop-Channel inválido" in resp.json()["detail"]


def test_unknown_route_and_method_in_pt_br(client: TestClient) -> None:
    missing = client.get("/api/nada")
    assert missing.status_code == 404 and "não encontrada" in missing.json()["detail"]
    wrong = client.get("/api/predict")
    assert wrong.status_code == 405 and "Método não permitido" in wrong.json()["detail"]


# --------------------------------------------------------------------------- HTML form


def test_form_page_lists_the_catalogue(client: TestClient) -> None:
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    page = resp.text
    assert '<html lang="pt-BR">' in page
    assert 'type="date"' in page and 'name="date"' in page
    assert 'type="checkbox"' in page and 'name="onpromotion"' in page
    assert re.search(r"<button[^>]*>Enviar</button>", page)
    assert '<form method="post" action="/">' in page  # works without JavaScript
    assert "<script" not in page
    for product in CATALOGUE:
        assert f'value="{product.item_nbr}"' in page
        assert html.escape(product.product) in page
    assert 'id="versao-atual">v1<' in page


def test_form_post_shows_prediction_version_and_id(client: TestClient, spy: SpyLogger) -> None:
    before = len(spy.events)
    product = CATALOGUE[2]
    resp = client.post(
        "/", data={"date": "2026-02-10", "item_nbr": product.item_nbr, "onpromotion": "true"}
    )
    assert resp.status_code == 200
    assert len(spy.events) == before + 1
    doc = spy.events[-1]
    assert doc["channel"] == "http" and doc["onpromotion"] is True
    page = resp.text
    assert f'id="prediction-id">{doc["prediction_id"]}<' in page
    assert 'id="model-version">v1<' in page
    assert service._number(doc["prediction"]) in page
    # the form keeps what was asked
    assert 'value="2026-02-10"' in page
    assert f'value="{product.item_nbr}" selected' in page
    assert 'value="true" checked' in page


def test_form_errors_are_inline_and_escaped(client: TestClient, no_new_events: None) -> None:
    attack = '"><script>alert(1)</script>'
    resp = client.post("/", data={"date": attack, "item_nbr": attack})
    assert resp.status_code == 422
    assert "<script>alert(1)</script>" not in resp.text
    assert "&lt;script&gt;" in resp.text
    assert 'role="alert"' in resp.text and "Data inválida" in resp.text

    resp = client.post("/", data={"date": "2026-01-15", "item_nbr": attack})
    assert resp.status_code == 422
    assert "Produto desconhecido" in resp.text and "<script>alert" not in resp.text

    resp = client.post("/", data={"date": "2026-01-15", "item_nbr": "103520", "x": "<b>"})
    assert resp.status_code == 422 and "Campo desconhecido: x" in resp.text

    resp = client.post("/", data={"item_nbr": "103520"})
    assert resp.status_code == 422 and "Informe a data" in resp.text

    resp = client.post(
        "/",
        content=b"date=" + b"1" * 17000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 413 and "passa de 16 KiB" in resp.text and "<form" in resp.text


# --------------------------------------------------------------------------- no model


def test_without_a_model_everything_says_so(
    stack_env: dict[str, str], tmp_path: Path, spy: SpyLogger
) -> None:
    settings = get_settings(home=tmp_path)
    before = len(spy.events)
    with TestClient(service.create_app(settings, logger=spy)) as empty:
        health = empty.get("/health")
        assert health.status_code == 503
        assert health.json()["model_loaded"] is False and health.json()["ok"] is False
        assert health.json()["detail"] == service.NO_MODEL_MESSAGE
        resp = empty.post("/api/predict", json=OK_BODY)
        assert resp.status_code == 503
        assert resp.json()["detail"] == (
            "Nenhum modelo treinado — execute o notebook 01 ou `workshop train`"
        )
        page = empty.post("/", data={"date": "2026-01-15", "item_nbr": "103520"})
        assert page.status_code == 503
        assert html.escape(service.NO_MODEL_MESSAGE) in page.text
        assert "Nenhum modelo treinado" in empty.get("/").text
        # bad input is still a 4xx, not a 503 or a 500
        assert empty.post("/api/predict", json={**OK_BODY, "date": "x"}).status_code == 422
    assert len(spy.events) == before


# --------------------------------------------------------------------------- web edges


FORM = {"date": "2026-01-15", "item_nbr": CATALOGUE[0].item_nbr}


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "http://evil.example"},
        {"origin": "null"},
    ],
)
def test_cross_site_form_posts_are_refused(
    client: TestClient, no_new_events: None, headers: dict[str, str]
) -> None:
    resp = client.post("/", data=FORM, headers=headers)
    assert resp.status_code == 403
    assert "Envio recusado" in resp.text


def test_same_site_form_posts_still_work(client: TestClient, spy: SpyLogger) -> None:
    before = len(spy.events)
    for headers in ({"sec-fetch-site": "same-origin"}, {"origin": "http://testserver"}, {}):
        assert client.post("/", data=FORM, headers=headers).status_code == 200
    assert len(spy.events) == before + 3


def test_security_headers(client: TestClient) -> None:
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "style-src 'self'" in csp
    assert "script-src" not in csp  # the page has no script: default-src 'none' covers it
    assert page.headers["x-content-type-options"] == "nosniff"
    api = client.get("/api/products")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in client.get("/docs").headers  # Swagger UI's scripts
