"""The FastAPI app: routes for the form, the JSON API and ``/health``; :func:`run` serves it."""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from workshop.config import Settings
from workshop.dataset import CATALOGUE
from workshop.errors import InvalidInputError, ModelNotFoundError, WorkshopError
from workshop.modeling.registry import NO_MODEL_MESSAGE
from workshop.service.page import (
    STATIC_DIR,
    SWAGGER_UI_DIR,
    _form_input,
    _form_question,
    render_page,
)
from workshop.service.prediction import (
    CHANNEL_HEADER,
    PredictionService,
    parse_channel,
)
from workshop.service.schemas import (
    _ERROR_RESPONSES,
    CHANNEL_PARAMETER,
    PREDICT_REQUEST_SCHEMA,
    HealthOut,
    PredictRequest,
    PredictResponse,
    ProductOut,
    api_question,
)
from workshop.service.validation import (
    _HTTP_MESSAGES,
    MAX_BODY_BYTES,
    BodySizeLimit,
    SecurityHeaders,
    _wants_html,
    cross_site,
    parse_body,
    validation_message,
)

# The body is parsed by validation.parse_body (one pydantic pass), not by a FastAPI body
# parameter, so the OpenAPI document gets the body and the channel header spelled out here.
_PREDICT_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": PREDICT_REQUEST_SCHEMA}},
    },
    "parameters": [CHANNEL_PARAMETER],
}


# FastAPI's native OpenTelemetry asks the global providers (three os.environ reads) on every
# request even when nothing is configured; the kit's observability is its own event log, so the
# app turns it off (FastAPI versions without the option have nothing to turn off).
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


def create_app(
    settings: Settings | None = None,
    logger: Any = None,
    event_link: Callable[[str], str | None] | None = None,
) -> FastAPI:
    """The service app. ``logger`` defaults to :func:`workshop.events.default_logger`, whose
    worker batches the events (``EventLogger.linger``). ``event_link(prediction_id)`` gives the
    form's link to the prediction's event (Discover, when Kibana is up), or ``None``; it is
    injected by ``workshop serve`` because the Kibana stage sits above the service."""
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
            _stop_events(service, owned=logger is None)

    app = FastAPI(
        title="Serviço do modelo · previsão de vendas",
        description=(
            "Previsões de unidades vendidas por dia e produto. Cada predição bem-sucedida gera "
            "um evento no Elasticsearch (canal `http`, ou `simulator` com o cabeçalho "
            f"`{CHANNEL_HEADER}: simulator`). Formulário em `/`."
        ),
        version="1.0",
        lifespan=lifespan,
        # /docs is served below from fastapi-offline's Swagger UI assets: FastAPI's default page
        # loads Swagger UI from a CDN (blank offline) and /redoc loads ReDoc and Google Fonts.
        docs_url=None,
        redoc_url=None,
        **_NO_TELEMETRY,
    )
    app.state.service = service
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/swagger-ui", StaticFiles(directory=SWAGGER_UI_DIR), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · API",
            swagger_js_url="/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/swagger-ui/favicon.png",
            # Swagger UI's default validator badge fetches an image from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

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
        response_description="A previsão: o evento de predição registrado",
        responses=_ERROR_RESPONSES,
        openapi_extra=_PREDICT_OPENAPI,
        summary="Prever as vendas de um produto num dia",
        tags=["predição"],
    )
    async def api_predict(request: Request) -> Response:
        body = parse_body(PredictRequest, await request.body(), request.headers.get("content-type"))
        channel = parse_channel(request.headers.get(CHANNEL_HEADER))
        question = api_question(body)
        return Response(service.answer(question, channel), media_type="application/json")

    @app.get(
        "/api/products",
        response_model=list[ProductOut],
        response_description="Os produtos do catálogo",
        summary="Produtos do catálogo",
        tags=["predição"],
    )
    def api_products() -> Response:
        return JSONResponse(products)

    @app.get(
        "/health",
        response_model=HealthOut,
        response_description="Pode prever",
        responses={503: {"model": HealthOut, "description": "Sem modelo: não pode prever"}},
        summary="Saúde do serviço: modelo carregado e transporte de eventos",
        tags=["operação"],
    )
    def health() -> Response:
        version = service.model.version
        events = service.event_stats()
        status = "sem modelo" if version is None else "ok"
        if version is not None and events.get("state") != "ok":
            status = "degraded"
        body: dict[str, Any] = {
            "ok": version is not None,
            "status": status,
            "model_loaded": version is not None,
            "model_version": version,
            "events": events,
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
        if cross_site(request.headers):  # any page the participant visits could post here
            page = render_page(
                error="Envio recusado: o formulário só aceita envios desta mesma página.",
                model_version=service.model.version,
            )
            return HTMLResponse(page, status_code=403)
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
        link = None
        if result is not None and event_link is not None:
            try:
                link = event_link(str(result["prediction_id"]))
            except Exception:  # a link is a nicety: never fail a prediction over it
                link = None
        page = render_page(
            **shown,
            result=result,
            event_url=link,
            error=error,
            model_version=service.model.version,
        )
        return HTMLResponse(page, status_code=status)

    return app


# How long a stop (SIGTERM, Ctrl+C) keeps sending events after the last request; whatever is not
# sent by then is already in the journal on disk and goes out at the next start (issue 17).
SHUTDOWN_SEND_S = 3.0


def _stop_events(service: PredictionService, *, owned: bool) -> None:
    """Stop the event logger through the lifespan: uvicorn re-raises SIGTERM once it is done,
    so the logger's ``atexit`` hook never runs in a served process."""
    if owned:
        from workshop.events.default import close_default

        close_default(timeout=SHUTDOWN_SEND_S)
    else:  # the caller's logger: the caller closes it
        service.flush(timeout=SHUTDOWN_SEND_S)


LIMIT_CONCURRENCY = 200  # connections + tasks at once; the rest get 503
IDLE_TIMEOUT_S = 5  # a connection silent this long is closed (before or between requests)


def _raise_fd_limit() -> None:
    """Raise the soft descriptor limit to the hard one (macOS defaults to 256)."""
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = hard if hard != resource.RLIM_INFINITY else 65536
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, 65536), hard))


class _OncePerFlood(logging.Filter):
    """Let one 'accept() out of system resource' record through per minute, not one per try."""

    def __init__(self) -> None:
        super().__init__()
        self._last = 0.0
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "out of system resource" not in text and "Too many open files" not in text:
            return True
        now = time.monotonic()
        if now - self._last < 60:
            self.suppressed += 1
            return False
        self._last = now
        if self.suppressed:
            record.msg = f"{text} ({self.suppressed} mensagens iguais suprimidas)"
            record.args = ()
            self.suppressed = 0
        record.exc_info = None  # one line, not a traceback per connection
        return True


def _idle_timeout_protocol() -> type:
    """uvicorn's h11 protocol, closing a connection that stays silent before its request too.

    uvicorn arms ``timeout_keep_alive`` only after a response: a client that connects and sends
    nothing (or half a request line) holds its descriptor for good. 300 of them froze a service
    limited to 256 descriptors (issue 17; ``tests/integration/service/test_descriptor_flood.py``).
    Here the same timer is armed when the connection opens and whenever a request is still
    incomplete after some data, so every silent connection is closed after ``IDLE_TIMEOUT_S``.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class IdleTimeoutH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_idle_timer()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is None or self.cycle.response_complete:
                self._arm_idle_timer()  # still waiting for (the rest of) a request

        def _arm_idle_timer(self) -> None:
            if self.timeout_keep_alive_task is None and not self.transport.is_closing():
                self.timeout_keep_alive_task = self.loop.call_later(
                    self.timeout_keep_alive, self.timeout_keep_alive_handler
                )

    return IdleTimeoutH11Protocol


def run(host: str, port: int, app: FastAPI | None = None) -> None:
    """Serve with uvicorn (what ``workshop serve`` does); blocks until Ctrl+C / SIGTERM."""
    import uvicorn

    _raise_fd_limit()
    flood = _OncePerFlood()
    for name in ("asyncio", "uvicorn.error"):
        logging.getLogger(name).addFilter(flood)

    uvicorn.run(
        app or create_app(),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        # Idle and slow connections do not pile up (issue 17: 300 idle connections froze a
        # service limited to 256 descriptors); past the limit uvicorn answers 503 at once.
        timeout_keep_alive=IDLE_TIMEOUT_S,
        http=_idle_timeout_protocol(),
        limit_concurrency=LIMIT_CONCURRENCY,
        backlog=256,
    )
