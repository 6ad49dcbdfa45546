"""Bad input never becomes a 500: pt-BR messages for validation errors, and a body size limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ValidationError

from workshop.service.page import render_page
from workshop.service.prediction import _shown
from workshop.service.schemas import API_FIELDS

MAX_BODY_BYTES = 16 * 1024

M = TypeVar("M", bound=BaseModel)

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


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


# --------------------------------------------------------------------------- the JSON body


def _is_json(content_type: str | None) -> bool:
    """FastAPI's rule: ``application/json`` or ``application/*+json`` (no Content-Type: no)."""
    if not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parse_body(model: type[M], body: bytes, content_type: str | None) -> M:
    """Validate a JSON body in one pydantic-core pass (``model_validate_json``).

    What FastAPI's body parameter does — JSON decoding, then validation of the decoded dict —
    costs a second pass and the dependency machinery on every request (py-spy: a third of the
    service's own time per prediction). Errors are raised as FastAPI raises them
    (``RequestValidationError`` with ``loc`` starting at ``"body"``), so :func:`validation_message`
    answers every bad body exactly as before.
    """
    if not body:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "missing"}])
    if not _is_json(content_type):
        raise RequestValidationError(
            [{"type": "model_attributes_type", "loc": ("body",), "msg": "not JSON"}]
        )
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first.get("type") == "json_invalid" and (
            "recursion limit" in str(first.get("msg")) or not _utf8(body)
        ):
            # As FastAPI, whose json.loads raises something else than a JSON error here: a body
            # that is not text at all, or nested past the parser's limit.
            raise HTTPException(status_code=400) from None
        raise RequestValidationError(
            [{**err, "loc": ("body", *err.get("loc", ()))} for err in exc.errors()]
        ) from None


# The form page loads only its own stylesheet and posts only to itself: anything else is refused.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Pure ASGI middleware: ``nosniff``, no referrer, no framing on every response; the page's
    CSP on HTML pages other than ``/docs`` (Swagger UI loads its own scripts)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page = not scope.get("path", "").startswith(("/docs", "/redoc"))

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += _COMMON_HEADERS
                is_html = any(
                    k == b"content-type" and v.startswith(b"text/html") for k, v in headers
                )
                if page and is_html:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def cross_site(headers: Any) -> bool:
    """A form POST sent by another site's page (Fetch Metadata, else Origin vs Host)."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None or origin == "null":
        return origin == "null"
    host = headers.get("host", "")
    return origin.split("://", 1)[-1] != host
