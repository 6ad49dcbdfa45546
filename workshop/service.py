"""The model service (FastAPI): the pt-BR web form on ``/``, the JSON API and ``/health``.

``workshop serve`` runs :func:`create_app` with uvicorn on :11000. The same prediction path
(:class:`PredictionService`) backs the HTML form, ``POST /api/predict`` and the notebook widget
(:mod:`workshop.widgets`): validate the input, ask the current production :class:`Predictor`,
emit exactly one :class:`PredictionEvent`.

The production model is loaded at start; a background thread polls the registry's production
pointer (once a second, off the request path) and swaps in a newly promoted version without a
restart. Every answer says which version produced it.

Bad input never becomes a 500: dates, products, fields, types, non-JSON bodies and bodies over
16 KiB are answered with a 4xx and a pt-BR message, and nothing is logged for them.
"""

from __future__ import annotations

import html
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from string import Template
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from workshop.config import Settings, get_settings
from workshop.dataset import (
    CATALOGUE,
    Product,
    parse_date,
    product_by_item,
    product_by_name,
)
from workshop.errors import InvalidInputError, ModelNotFoundError, WorkshopError
from workshop.modeling.registry import NO_MODEL_MESSAGE

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
CHANNEL_HEADER = "X-Workshop-Channel"
HTTP_CHANNELS = ("http", "simulator")  # what a client may ask for with the header
POLL_INTERVAL_S = 1.0
API_FIELDS = ("date", "item_nbr", "product", "onpromotion")

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


# --------------------------------------------------------------------------- input validation


def _shown(value: object, limit: int = 40) -> str:
    """A user value echoed in a message, shortened (HTML escaping happens at render time)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def resolve_product(item_nbr: str | None = None, product: str | None = None) -> Product:
    """The catalogue product named by its number and/or its pt-BR name (they must agree)."""
    if item_nbr is None and product is None:
        raise InvalidInputError(
            'Informe o produto: "item_nbr" (ex.: "103520") ou "product" (o nome do catálogo).'
        )
    by_item = product_by_item(item_nbr.strip()) if item_nbr is not None else None
    by_name = product_by_name(product.strip()) if product is not None else None
    if by_item is not None and by_name is not None and by_item != by_name:
        raise InvalidInputError(
            f"item_nbr {by_item.item_nbr} é “{by_item.product}”, não “{by_name.product}”: "
            "informe só um dos dois campos ou valores que concordem."
        )
    chosen = by_item or by_name
    assert chosen is not None
    return chosen


def parse_channel(value: str | None) -> str:
    """The event channel asked for with ``X-Workshop-Channel`` (default ``http``)."""
    if value is None:
        return "http"
    channel = value.strip().lower()
    if channel not in HTTP_CHANNELS:
        raise InvalidInputError(
            f"Cabeçalho {CHANNEL_HEADER} inválido: “{_shown(value)}” — use "
            + " ou ".join(HTTP_CHANNELS)
            + " (ou omita o cabeçalho)."
        )
    return channel


# --------------------------------------------------------------------------- model + events


class ModelHolder:
    """The current production :class:`~workshop.modeling.Predictor`, swapped on promotion.

    :meth:`refresh` reads the registry's production pointer and loads a new version only when
    the pointer moved. The service calls it from a background thread (:meth:`start`); the widget
    calls :meth:`get` with ``max_age`` so a click re-checks at most once a second.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._predictor: Any = None
        self._registry: Any = None
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self.load_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def version(self) -> str | None:
        predictor = self._predictor
        return None if predictor is None else str(predictor.version)

    def refresh(self) -> bool:
        """Follow the production pointer; True when a different version was loaded."""
        from workshop.modeling import Predictor, Registry

        with self._lock:
            self._checked_at = time.monotonic()
            try:
                if self._registry is None:
                    self._registry = Registry(self.settings)
                wanted = self._registry.production_version()
                if wanted is None:  # say why: nothing trained, or nothing promoted
                    Predictor.load(None, settings=self.settings)
                if wanted == self.version:
                    return False
                predictor = Predictor.load(wanted, settings=self.settings)
            except ModelNotFoundError as exc:
                self._predictor = None
                self.load_error = str(exc)
                return False
            except Exception as exc:  # a half-written model: keep serving the old one, retry
                log.warning("could not load the production model: %s", exc)
                self.load_error = f"Não foi possível carregar o modelo de produção: {exc}"
                return False
            self._predictor = predictor
            self.load_error = None
            log.info("serving model %s", predictor.version)
            return True

    def get(self, max_age: float | None = None) -> Any:
        """The current Predictor, or :class:`ModelNotFoundError` (pt-BR) when there is none."""
        if max_age is not None and time.monotonic() - self._checked_at > max_age:
            self.refresh()
        predictor = self._predictor
        if predictor is None:
            raise ModelNotFoundError(self.load_error or NO_MODEL_MESSAGE)
        return predictor

    def start(self, interval: float = POLL_INTERVAL_S) -> None:
        """Load the production model now and keep following the pointer in a daemon thread."""
        self.refresh()
        if self._thread is not None:
            return
        self._stop.clear()

        def poll() -> None:
            while not self._stop.wait(interval):
                self.refresh()

        self._thread = threading.Thread(target=poll, name="workshop-model-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


@dataclass(frozen=True)
class PredictionInput:
    """A validated question: which day, which product, on promotion or not."""

    date: date
    product: Product
    onpromotion: bool


_thread_state = threading.local()


def _single_openmp_thread() -> None:
    """Limit OpenMP to one thread in the calling thread (once per thread).

    The trees' ``predict`` opens an OpenMP parallel region even for one row; from a thread other
    than the main one that costs ~10 ms and, on a busy machine, spikes of hundreds of ms (spinning
    team threads). One thread answers a single row in ~0.5 ms. OpenMP settings are per thread, so
    each server worker thread sets its own, once.
    """
    if getattr(_thread_state, "limited", False):
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="openmp")
    _thread_state.limited = True


class PredictionService:
    """One prediction path for the web form, the JSON API and the widget.

    ``single_thread`` (the server) runs the model with one OpenMP thread per calling thread; the
    widget leaves the kernel's settings alone.

    ``log_events`` exists for ``benchmarks/service.py`` (event logging on/off on one server);
    participants always log.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        logger: Any = None,
        *,
        single_thread: bool = False,
    ) -> None:
        self.settings = settings or get_settings()
        self.model = ModelHolder(self.settings)
        self._logger = logger
        self.single_thread = single_thread
        self.log_events = True

    @property
    def logger(self) -> Any:
        if self._logger is None:
            from workshop.events import default_logger

            self._logger = default_logger()
        return self._logger

    def event_stats(self) -> dict[str, Any]:
        try:
            return dict(self.logger.stats())
        except Exception as exc:  # health must answer even if the logger is broken
            return {"state": "erro", "detail": str(exc)}

    def predict(
        self, question: PredictionInput, channel: str, max_age: float | None = None
    ) -> dict[str, Any]:
        """Predict, emit one event (when logging), and return the API answer."""
        predictor = self.model.get(max_age)
        if self.single_thread:
            _single_openmp_thread()
        result = predictor.predict(question.date, question.product.item_nbr, question.onpromotion)
        if self.log_events:
            from workshop.events import PredictionEvent

            event = PredictionEvent.create(
                prediction=result.prediction,
                model_version=result.model_version,
                channel=channel,
                date=question.date,
                product=question.product,
                onpromotion=question.onpromotion,
                latency_ms=result.latency_ms,
            )
            self.logger.emit(event)
            prediction_id = str(event.prediction_id)
        else:
            prediction_id = str(uuid.uuid4())
        return {
            "prediction": float(result.prediction),
            "model_version": str(result.model_version),
            "prediction_id": prediction_id,
            "latency_ms": float(result.latency_ms),
            "date": question.date.isoformat(),
            "item_nbr": question.product.item_nbr,
            "product": question.product.product,
            "family": question.product.family,
            "onpromotion": question.onpromotion,
        }

    def flush(self, timeout: float = 5.0) -> None:
        """Wait for the logger to deliver the events emitted so far."""
        if self._logger is not None:
            try:
                self._logger.flush(timeout=timeout)
            except Exception as exc:
                log.warning("event flush failed: %s", exc)


# --------------------------------------------------------------------------- API schema


class PredictRequest(BaseModel):
    """Body of ``POST /api/predict``: the product by ``item_nbr`` or by ``product`` name."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"date": "2026-01-15", "item_nbr": "103520", "onpromotion": False},
                {"date": "2026-01-15", "product": "Leite integral 1L", "onpromotion": True},
            ]
        },
    )

    date: StrictStr = Field(description="Dia da previsão, AAAA-MM-DD, entre 2000 e 2100.")
    item_nbr: StrictStr | None = Field(default=None, description='Número do produto ("103520").')
    product: StrictStr | None = Field(default=None, description="Nome do produto no catálogo.")
    onpromotion: StrictBool = Field(description="O produto está em promoção nesse dia?")


class PredictResponse(BaseModel):
    prediction: float = Field(description="Unidades vendidas previstas.")
    model_version: str = Field(description="Versão do registro que respondeu (v1, v2, …).")
    prediction_id: str = Field(description="Identificador do evento de predição (uuid4).")
    latency_ms: float = Field(description="Tempo do modelo, em milissegundos.")
    date: str
    item_nbr: str
    product: str
    family: str
    onpromotion: bool


class ProductOut(BaseModel):
    item_nbr: str
    product: str
    family: str
    perishable: bool


class HealthOut(BaseModel):
    ok: bool
    model_loaded: bool
    model_version: str | None
    events: dict[str, Any]
    detail: str | None = None


class ErrorOut(BaseModel):
    detail: str = Field(description="Mensagem em português.")


_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Corpo que não é JSON"},
    413: {"model": ErrorOut, "description": "Corpo maior que 16 KiB"},
    415: {"model": ErrorOut, "description": "Content-Type não é JSON"},
    422: {"model": ErrorOut, "description": "Entrada inválida (data, produto, campos, tipos)"},
    503: {"model": ErrorOut, "description": "Nenhum modelo treinado"},
}


# --------------------------------------------------------------------------- error messages

_TYPE_NAMES = {
    "string_type": "texto",
    "bool_type": "true ou false",
    "bool_parsing": "true ou false",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "header", "query") else []
    return ".".join(parts)


def validation_message(errors: list[dict[str, Any]], content_type: str | None) -> tuple[int, str]:
    """FastAPI's (English) validation errors → one pt-BR message and a status code."""
    messages: list[str] = []
    for err in errors:
        kind = str(err.get("type", ""))
        loc = tuple(err.get("loc", ()))
        name = _field_name(loc)
        if kind == "json_invalid":
            return 400, "O corpo da requisição não é um JSON válido."
        if loc == ("body",):
            if kind == "missing":
                return 422, (
                    'O corpo da requisição está vazio: envie um objeto JSON como {"date": '
                    '"2026-01-15", "item_nbr": "103520", "onpromotion": false}.'
                )
            if not content_type or "json" not in content_type.lower():
                return 415, "Envie o corpo em JSON (cabeçalho Content-Type: application/json)."
            return 400, (
                'O corpo deve ser um objeto JSON com os campos "date", "item_nbr" (ou '
                '"product") e "onpromotion".'
            )
        if loc and loc[0] == "header":
            messages.append(f"Cabeçalho inválido: {name}.")
        elif kind == "missing":
            messages.append(f"Campo obrigatório ausente: {name}.")
        elif kind == "extra_forbidden":
            messages.append(
                f"Campo desconhecido: {_shown(name)} (aceitos: {', '.join(API_FIELDS)})."
            )
        elif kind in _TYPE_NAMES:
            messages.append(f"O campo {name} deve ser {_TYPE_NAMES[kind]}.")
        else:
            messages.append(f"Valor inválido no campo {name}.")
    return 422, " ".join(dict.fromkeys(messages)) or "Requisição inválida."


_HTTP_MESSAGES = {
    400: "Não foi possível ler o corpo da requisição: envie um objeto JSON válido.",
    404: "Página não encontrada. Veja o formulário em / e a API em /docs.",
    405: "Método não permitido neste endereço. Veja a API em /docs.",
    413: "O corpo da requisição passa de 16 KiB.",
}


def _wants_html(request: Request) -> bool:
    return request.url.path == "/"


# --------------------------------------------------------------------------- body size limit


class BodySizeLimit:
    """Pure ASGI middleware: 413 (pt-BR) for bodies over ``max_bytes``, declared or streamed.

    A declared ``Content-Length`` over the limit is refused before the app runs. A streamed
    (chunked) body is counted while the app reads it; passing the limit raises an
    ``HTTPException(413)``, which FastAPI re-raises from its body parsing and the app's handler
    turns into the pt-BR answer.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                declared = int(value) if value.isdigit() else None
                break
        if declared is not None:
            if declared > self.max_bytes:
                await self._reject(scope, send)
            else:  # the server enforces Content-Length framing: nothing more to count
                await self.app(scope, receive, send)
            return

        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=_HTTP_MESSAGES[413])
            return message

        await self.app(scope, limited_receive, send)

    async def _reject(self, scope: Any, send: Any) -> None:
        message = _HTTP_MESSAGES[413]
        response: Response
        if scope.get("path") == "/":
            response = HTMLResponse(render_page(error=message), status_code=413)
        else:
            response = JSONResponse({"detail": message}, status_code=413)
        response.headers["connection"] = "close"

        async def no_body() -> Any:
            return {"type": "http.disconnect"}

        await response(scope, no_body, send)


# --------------------------------------------------------------------------- HTML page

_PAGE = Template("""<!doctype html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Previsão de vendas · serviço do modelo</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; background: #f5f6f8; color: #1d2330; }
main { max-width: 40rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem;
       border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.1); }
h1 { margin-top: 0; font-size: 1.6rem; }
form { display: grid; grid-template-columns: 9rem 1fr; gap: .8rem 1rem; align-items: center; }
label.check { grid-column: 2; }
button { grid-column: 2; justify-self: start; padding: .5rem 1.6rem; font-size: 1rem;
         background: #0b63ce; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
input, select { font-size: 1rem; padding: .3rem; min-width: 0; max-width: 100%; }
dd { overflow-wrap: anywhere; }
@media (max-width: 32rem) {  /* phones: one column */
  main { margin: 0; padding: 1rem; border-radius: 0; }
  form, dl { grid-template-columns: 1fr; }
  label.check, button { grid-column: 1; }
}
.resultado { margin-top: 1.5rem; padding: 1rem 1.2rem; background: #eaf6ec;
             border-left: 4px solid #2e8540; }
.valor { font-size: 1.6rem; margin: .2rem 0 .8rem; }
.erro { margin-top: 1.5rem; padding: .8rem 1.2rem; background: #fdecea;
        border-left: 4px solid #c62828; }
.aviso { padding: .8rem 1.2rem; background: #fff8e1; border-left: 4px solid #f9a825; }
dl { display: grid; grid-template-columns: 10rem 1fr; gap: .2rem 1rem; margin: 0; }
dt { color: #555; }
dd { margin: 0; font-family: ui-monospace, monospace; }
footer { margin-top: 1.5rem; font-size: .9rem; color: #555; }
</style>
</head>
<body>
<main>
<h1>Previsão de vendas</h1>
<p>Escolha um dia e um produto e clique em <strong>Enviar</strong>. O modelo prevê quantas
unidades serão vendidas, e cada predição é registrada como um evento no Elasticsearch.</p>
$banner
<form method="post" action="/">
<label for="date">Data</label>
<input type="date" id="date" name="date" value="$date" min="2000-01-01" max="2100-12-31" required>
<label for="item_nbr">Produto</label>
<select id="item_nbr" name="item_nbr" required>
$options
</select>
<label class="check"><input type="checkbox" id="onpromotion" name="onpromotion"
value="true"$checked> Em promoção</label>
<button type="submit" id="enviar">Enviar</button>
</form>
$message
<footer>Modelo em produção: <strong id="versao-atual">$version</strong> ·
<a href="/docs">API (/docs)</a> · <a href="/api/products">/api/products</a> ·
<a href="/health">/health</a></footer>
</main>
</body>
</html>
""")


def _number(value: float) -> str:
    """12345.678 → "12.345,68" (pt-BR)."""
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def render_page(
    *,
    day: str = "",
    item_nbr: str = "",
    onpromotion: bool = False,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    model_version: str | None = None,
) -> str:
    """The form page; every value that came from a request is HTML-escaped here."""
    esc = html.escape
    options = "\n".join(
        f'<option value="{esc(p.item_nbr)}"{" selected" if p.item_nbr == item_nbr else ""}>'
        f"{esc(p.product)} ({esc(p.family)})</option>"
        for p in CATALOGUE
    )
    message = ""
    if error:
        message = f'<p class="erro" role="alert" id="erro"><strong>Erro:</strong> {esc(error)}</p>'
    elif result:
        promo = "sim" if result["onpromotion"] else "não"
        message = f"""<section class="resultado" role="status" id="resultado">
<h2>Previsão</h2>
<p class="valor"><strong id="prediction">{esc(_number(result["prediction"]))}</strong>
unidades vendidas</p>
<dl>
<dt>Produto</dt><dd id="produto">{esc(result["product"])} ({esc(result["item_nbr"])})</dd>
<dt>Data</dt><dd id="data">{esc(result["date"])}</dd>
<dt>Em promoção</dt><dd>{promo}</dd>
<dt>Versão do modelo</dt><dd id="model-version">{esc(result["model_version"])}</dd>
<dt>ID da predição</dt><dd id="prediction-id">{esc(result["prediction_id"])}</dd>
</dl>
</section>"""
    banner = (
        "" if model_version else f'<p class="aviso" id="sem-modelo">{esc(NO_MODEL_MESSAGE)}.</p>'
    )
    return _PAGE.substitute(
        banner=banner,
        date=esc(day),
        options=options,
        checked=" checked" if onpromotion else "",
        message=message,
        version=esc(model_version or "nenhum"),
    )


# --------------------------------------------------------------------------- the app


def _form_input(form: Any) -> tuple[dict[str, str], list[str]]:
    """Form fields as strings, plus pt-BR problems (extra, repeated or non-text fields)."""
    problems: list[str] = []
    values: dict[str, str] = {}
    for key in dict.fromkeys(form.keys()):
        items = form.getlist(key)
        if key not in ("date", "item_nbr", "product", "onpromotion"):
            problems.append(f"Campo desconhecido: {_shown(key)}.")
        elif len(items) > 1:
            problems.append(f"Campo repetido: {key}.")
        elif not isinstance(items[0], str):
            problems.append(f"O campo {key} deve ser texto.")
        else:
            values[key] = items[0]
    return values, problems


def _form_question(values: dict[str, str]) -> PredictionInput:
    if not values.get("date", "").strip():
        raise InvalidInputError("Informe a data no formato AAAA-MM-DD.")
    day = parse_date(values["date"])
    item = values.get("item_nbr") or None
    name = values.get("product") or None
    product = resolve_product(item, name)
    flag = values.get("onpromotion")
    if flag is not None and flag.lower() not in ("true", "on", "1"):
        raise InvalidInputError(f"Valor inválido para “em promoção”: “{_shown(flag)}”.")
    return PredictionInput(day, product, flag is not None)


def create_app(
    settings: Settings | None = None,
    logger: Any = None,
) -> FastAPI:
    """The service app. ``logger`` defaults to :func:`workshop.events.default_logger`, whose
    worker batches the events (``EventLogger.linger``)."""
    service = PredictionService(settings, logger, single_thread=True)
    products = [
        {
            "item_nbr": p.item_nbr,
            "product": p.product,
            "family": p.family,
            "perishable": p.perishable,
        }
        for p in CATALOGUE
    ]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        service.model.start()
        service.logger  # noqa: B018  (start the event logger before the first request)
        try:
            yield
        finally:
            service.model.stop()
            service.flush()

    app = FastAPI(
        title="Serviço do modelo · previsão de vendas",
        description=(
            "Previsões de unidades vendidas por dia e produto. Cada predição bem-sucedida gera "
            "um evento no Elasticsearch (canal `http`, ou `simulator` com o cabeçalho "
            f"`{CHANNEL_HEADER}: simulator`). Formulário em `/`."
        ),
        version="1.0",
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)

    # ---- errors: always pt-BR, never a 500 for input
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        status, message = validation_message(
            list(exc.errors()), request.headers.get("content-type")
        )
        return JSONResponse({"detail": message}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = _HTTP_MESSAGES.get(exc.status_code) or (
            exc.detail if isinstance(exc.detail, str) else "Requisição inválida."
        )
        if _wants_html(request):
            return HTMLResponse(render_page(error=message), status_code=exc.status_code)
        return JSONResponse({"detail": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(InvalidInputError)
    async def _invalid(_request: Request, exc: InvalidInputError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(ModelNotFoundError)
    async def _no_model(_request: Request, exc: ModelNotFoundError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(WorkshopError)
    async def _workshop(_request: Request, exc: WorkshopError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    # ---- JSON API
    @app.post(
        "/api/predict",
        response_model=PredictResponse,
        responses=_ERROR_RESPONSES,
        summary="Prever as vendas de um produto num dia",
        tags=["predição"],
    )
    async def api_predict(
        body: PredictRequest,
        x_workshop_channel: Annotated[
            str | None,
            Header(
                alias=CHANNEL_HEADER,
                description="Canal do evento: http (padrão) ou simulator.",
            ),
        ] = None,
    ) -> Response:
        channel = parse_channel(x_workshop_channel)
        question = PredictionInput(
            parse_date(body.date), resolve_product(body.item_nbr, body.product), body.onpromotion
        )
        return JSONResponse(service.predict(question, channel))

    @app.get(
        "/api/products",
        response_model=list[ProductOut],
        summary="Produtos do catálogo",
        tags=["predição"],
    )
    def api_products() -> Response:
        return JSONResponse(products)

    @app.get(
        "/health",
        response_model=HealthOut,
        responses={503: {"model": HealthOut, "description": "Sem modelo: não pode prever"}},
        summary="Saúde do serviço: modelo carregado e transporte de eventos",
        tags=["operação"],
    )
    def health() -> Response:
        version = service.model.version
        body: dict[str, Any] = {
            "ok": version is not None,
            "model_loaded": version is not None,
            "model_version": version,
            "events": service.event_stats(),
        }
        if version is None:
            body["detail"] = service.model.load_error or NO_MODEL_MESSAGE
        return JSONResponse(body, status_code=200 if version else 503)

    # ---- HTML form (works without JavaScript)
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def form_page() -> Response:
        return HTMLResponse(render_page(day="", model_version=service.model.version))

    @app.post("/", response_class=HTMLResponse, include_in_schema=False)
    async def form_submit(request: Request) -> Response:
        try:
            form = await request.form()
        except StarletteHTTPException:
            raise
        except Exception:
            page = render_page(
                error="Não foi possível ler o formulário.", model_version=service.model.version
            )
            return HTMLResponse(page, status_code=400)
        values, problems = _form_input(form)
        shown = {
            "day": values.get("date", ""),
            "item_nbr": values.get("item_nbr", ""),
            "onpromotion": "onpromotion" in values,
        }
        status, result, error = 200, None, None
        try:
            if problems:
                raise InvalidInputError(" ".join(problems))
            result = service.predict(_form_question(values), "http")
        except InvalidInputError as exc:
            status, error = 422, str(exc)
        except WorkshopError as exc:
            status, error = 503, str(exc)
        page = render_page(
            **shown,
            result=result,
            error=error,
            model_version=service.model.version,
        )
        return HTMLResponse(page, status_code=status)

    return app


def run(host: str, port: int, app: FastAPI | None = None) -> None:
    """Serve with uvicorn (what ``workshop serve`` does); blocks until Ctrl+C / SIGTERM."""
    import uvicorn

    uvicorn.run(
        app or create_app(),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
