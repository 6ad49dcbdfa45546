"""Request and response models of the JSON API: the contract OpenAPI (``/docs``) shows."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from workshop.dataset import CATALOGUE, FORECAST_END, FORECAST_START
from workshop.errors import InvalidInputError
from workshop.service.prediction import (
    CHANNEL_HEADER,
    HTTP_CHANNELS,
    PredictionInput,
    _shown,
    parse_forecast_date,
)

API_FIELDS = ("date", "item_nbr", "product", "onpromotion")


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

    date: StrictStr = Field(
        description="Dia da previsão, AAAA-MM-DD, no horizonte do modelo (2024-01-01 a 2028-12-31)."
    )
    item_nbr: StrictStr | None = Field(default=None, description='Número do produto ("103520").')
    product: StrictStr | None = Field(default=None, description="Nome do produto no catálogo.")
    onpromotion: StrictBool = Field(description="O produto está em promoção nesse dia?")


def _horizon_pattern(start: date, end: date) -> str:
    """``AAAA-MM-DD`` within whole years ``start.year``–``end.year`` (the model's horizon)."""
    if (start.month, start.day, end.month, end.day) != (1, 1, 12, 31):
        raise ValueError("the horizon must cover whole years to be written as a pattern")
    years = "|".join(str(year) for year in range(start.year, end.year + 1))
    return rf"^({years})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


HORIZON_PATTERN = _horizon_pattern(FORECAST_START, FORECAST_END)

# The JSON Schema of the body, exactly what api_question accepts (issue 17: the schema said "any
# string" for the date and the product, so a schema-valid request could be refused). What JSON
# Schema cannot say is in the descriptions: a date must exist (format "date"; 2026-02-30 does not).
PREDICT_REQUEST_SCHEMA: dict[str, Any] = {
    "title": "PredictRequest",
    "description": "O produto por número (item_nbr) ou por nome (product): um dos dois, não ambos.",
    "type": "object",
    "properties": {
        "date": {
            "type": "string",
            "format": "date",
            "pattern": HORIZON_PATTERN,
            "description": f"Dia da previsão, AAAA-MM-DD, no horizonte do modelo "
            f"({FORECAST_START.isoformat()} a {FORECAST_END.isoformat()}).",
        },
        "item_nbr": {
            "type": "string",
            "enum": [p.item_nbr for p in CATALOGUE],
            "description": 'Número do produto ("103520"); a lista está em GET /api/products.',
        },
        "product": {
            "type": "string",
            "enum": [p.product for p in CATALOGUE],
            "description": "Nome do produto, exatamente como no catálogo (GET /api/products).",
        },
        "onpromotion": {"type": "boolean", "description": "O produto está em promoção nesse dia?"},
    },
    "required": ["date", "onpromotion"],
    "oneOf": [{"required": ["item_nbr"]}, {"required": ["product"]}],
    "additionalProperties": False,
    "examples": [
        {"date": "2026-01-15", "item_nbr": "103520", "onpromotion": False},
        {"date": "2026-01-15", "product": "Leite integral 1L", "onpromotion": True},
    ],
}

CHANNEL_PARAMETER: dict[str, Any] = {
    "name": CHANNEL_HEADER,
    "in": "header",
    "required": False,
    "description": "Canal do evento: http (padrão) ou simulator, em minúsculas.",
    "schema": {"type": "string", "enum": list(HTTP_CHANNELS), "default": "http"},
}

_BY_ITEM = {p.item_nbr: p for p in CATALOGUE}
_BY_NAME = {p.product: p for p in CATALOGUE}


def api_question(body: PredictRequest) -> PredictionInput:
    """The JSON body → a question, by :data:`PREDICT_REQUEST_SCHEMA`'s rules and no looser.

    The form and the widget forgive spaces and letter case (a person typed it); the API is a
    contract that clients code against, so it takes exactly what its schema says.
    """
    given = body.model_fields_set & {"item_nbr", "product"}
    for name in sorted(given):
        if getattr(body, name) is None:
            raise InvalidInputError(f"O campo {name} deve ser texto (não null) ou ficar de fora.")
    if not given:
        raise InvalidInputError(
            'Informe o produto: "item_nbr" (ex.: "103520") ou "product" (o nome do catálogo).'
        )
    if len(given) == 2:
        raise InvalidInputError(
            'Informe o produto por "item_nbr" ou por "product", não pelos dois.'
        )
    if body.item_nbr is not None:
        product = _BY_ITEM.get(body.item_nbr)
        if product is None:
            raise InvalidInputError(
                f"Produto desconhecido: item_nbr “{_shown(body.item_nbr)}”. Os números aceitos "
                "estão em GET /api/products."
            )
    else:
        assert body.product is not None
        product = _BY_NAME.get(body.product)
        if product is None:
            raise InvalidInputError(
                f"Produto desconhecido: “{_shown(body.product)}”. Use o nome exato de "
                "GET /api/products (ex.: “Leite integral 1L”)."
            )
    if body.date != body.date.strip():
        raise InvalidInputError(
            f"Data inválida: “{_shown(body.date)}” (use AAAA-MM-DD, sem espaços)."
        )
    return PredictionInput(parse_forecast_date(body.date), product, body.onpromotion)


class PredictResponse(BaseModel):
    # The answer is the prediction event itself, as it was logged (DESIGN.md, Events). No
    # docstring: pydantic would show it in /docs, whose text is the participant's (pt-BR).
    model_config = ConfigDict(
        populate_by_name=True,
        protected_namespaces=(),
        json_schema_extra={"description": "O próprio evento de predição, como foi registrado."},
    )

    timestamp: str = Field(
        alias="@timestamp", description="Quando a predição foi feita (UTC, ISO 8601)."
    )
    prediction_id: str = Field(description="Identificador do evento de predição (uuid4).")
    model_version: str = Field(description="Versão do registro que respondeu (v1, v2, …).")
    channel: str = Field(description="Canal do evento: http, ou simulator com o cabeçalho.")
    date: str
    item_nbr: str
    product: str
    family: str
    onpromotion: bool
    prediction: float = Field(description="Unidades vendidas previstas.")
    latency_ms: float = Field(description="Tempo do modelo, em milissegundos.")


class ProductOut(BaseModel):
    item_nbr: str
    product: str
    family: str
    perishable: bool


class HealthOut(BaseModel):
    ok: bool
    status: str = Field(
        description='"ok"; "degraded" quando os eventos se acumulam ou os envios param de dar '
        'certo (veja events.reasons); "sem modelo" sem modelo de produção.'
    )
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
