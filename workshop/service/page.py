"""The HTML form page on ``/``, rendered from ``workshop/templates/form.html``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi.templating import Jinja2Templates

from workshop import formatting
from workshop.dataset import CATALOGUE
from workshop.errors import InvalidInputError
from workshop.modeling.registry import NO_MODEL_MESSAGE
from workshop.service.prediction import (
    PredictionInput,
    _shown,
    parse_forecast_date,
    resolve_product,
)

# --------------------------------------------------------------------------- HTML page

TEMPLATES_DIR = Path(__file__).parent.parent / "templates"
STATIC_DIR = Path(__file__).parent.parent / "static"
# Swagger UI 5's assets from the installed fastapi-offline package (no CDN: /docs works offline).
# Not swagger-ui-bundle: it ships Swagger UI 4, which refuses FastAPI's OpenAPI 3.1 document
# ("Unable to render this definition"), caught by the rehearsal (issue 13).
SWAGGER_UI_DIR = Path(fastapi_offline.__file__).parent / "static"
# Starlette's environment autoescapes .html templates (jinja2.select_autoescape): every value
# that came from a request is HTML-escaped by the template itself.
templates = Jinja2Templates(directory=TEMPLATES_DIR)


def _number(value: float) -> str:
    """12345.678 → "12.345,7": one decimal, as the notebooks print a prediction (Babel, pt-BR)."""
    return formatting.number(value, 1)


def render_page(
    *,
    day: str = "",
    item_nbr: str = "",
    onpromotion: bool = False,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    model_version: str | None = None,
    event_url: str | None = None,
) -> str:
    """The form page (``templates/form.html``, autoescaped)."""
    return templates.get_template("form.html").render(
        day=day,
        item_nbr=item_nbr,
        onpromotion=onpromotion,
        products=CATALOGUE,
        result=result,
        prediction_text=_number(result["prediction"]) if result else "",
        date_text=formatting.day(result["date"]) if result else "",
        error=error,
        model_version=model_version,
        event_url=event_url,
        no_model_message=NO_MODEL_MESSAGE,
    )


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
    day = parse_forecast_date(values["date"])
    item = values.get("item_nbr") or None
    name = values.get("product") or None
    try:
        product = resolve_product(item, name)
    except InvalidInputError:
        # The API's message names item_nbr and GET /api/products; a person at the form chose
        # from a list (issue 13: the form's errors spoke the API's language).
        raise InvalidInputError(
            "Produto desconhecido: escolha um dos produtos da lista “Produto”."
        ) from None
    flag = values.get("onpromotion")
    if flag is not None and flag.lower() not in ("true", "on", "1"):
        raise InvalidInputError(f"Valor inválido para “em promoção”: “{_shown(flag)}”.")
    return PredictionInput(day, product, flag is not None)
