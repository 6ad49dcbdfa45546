"""Request and response models of the JSON API: the contract OpenAPI (``/docs``) shows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

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
