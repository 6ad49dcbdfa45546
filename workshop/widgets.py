"""The prediction form inside JupyterLab (ipywidgets): the notebook's twin of the web form.

It runs the same prediction path as the service (:class:`workshop.service.PredictionService`)
in the kernel: the production model (re-checked at most once a second, so a newly promoted
version answers the next click) and one event per prediction, on channel ``widget``.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Any

import ipywidgets as widgets

from workshop.config import Settings
from workshop.dataset import CATALOGUE
from workshop.errors import InvalidInputError, WorkshopError
from workshop.service import (
    PredictionInput,
    PredictionService,
    _number,
    resolve_product,
)
from workshop.service.prediction import parse_forecast_date

CHANNEL = "widget"


class PredictionForm:
    """DatePicker + product Dropdown + promotion Checkbox + "Prever" Button + output area.

    ``widget`` is the box to display (the object displays itself too). :meth:`predict` is what a
    click does, usable from code; ``last_result`` / ``last_error`` keep the latest outcome.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        logger: Any = None,
        *,
        service: PredictionService | None = None,
        day: date | None = None,
    ) -> None:
        self.service = service or PredictionService(settings, logger)
        style = {"description_width": "7rem"}
        self.date = widgets.DatePicker(
            description="Data",
            # No min/max: the picker would silently clamp 1900 to the limit and predict (issue
            # 13); the date goes as typed and predict() refuses it with a pt-BR message.
            value=day or date.today(),
            style=style,
        )
        self.product = widgets.Dropdown(
            description="Produto",
            options=[(f"{p.product} ({p.family})", p.item_nbr) for p in CATALOGUE],
            style=style,
            layout=widgets.Layout(width="28rem"),
        )
        self.promotion = widgets.Checkbox(description="Em promoção", value=False, style=style)
        self.button = widgets.Button(
            description="Prever", button_style="primary", icon="chart-line", tooltip="Prever"
        )
        self.output = widgets.HTML(value="", layout=widgets.Layout(min_height="2rem"))
        self.output.add_class("workshop-prediction-output")
        self.button.on_click(self._on_click)
        self.widget = widgets.VBox(
            [
                widgets.HTML("<b>Previsão de vendas</b> — escolha o dia e o produto:"),
                self.date,
                self.product,
                self.promotion,
                self.button,
                self.output,
            ]
        )
        self.last_result: dict[str, Any] | None = None
        self.last_error: str | None = None

    def predict(self) -> dict[str, Any]:
        """Predict for the current field values; pt-BR :class:`WorkshopError` on bad input."""
        if self.date.value is None:
            raise InvalidInputError("Escolha uma data no campo “Data”.")
        if self.product.value is None:
            raise InvalidInputError("Escolha um produto na lista.")
        question = PredictionInput(
            parse_forecast_date(self.date.value),
            resolve_product(str(self.product.value)),
            bool(self.promotion.value),
        )
        return self.service.predict(question, CHANNEL, max_age=1.0)

    def _on_click(self, _button: Any = None) -> None:
        self.button.disabled = True
        try:
            result = self.predict()
        except WorkshopError as exc:
            self.last_result, self.last_error = None, str(exc)
            self.output.value = (
                '<div style="color:#b71c1c" class="erro"><b>Erro:</b> '
                f"{html.escape(str(exc))}</div>"
            )
        else:
            self.last_result, self.last_error = result, None
            self.output.value = render_result(result)
        finally:
            self.button.disabled = False

    def click(self) -> None:
        """Same as clicking "Prever" (useful when the notebook runs without a browser)."""
        self.button.click()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def render_result(result: dict[str, Any]) -> str:
    esc = html.escape
    promo = "sim" if result["onpromotion"] else "não"
    return (
        '<div class="resultado">'
        f'<div style="font-size:1.3em">Previsão: <b class="prediction">'
        f"{esc(_number(result['prediction']))}</b> unidades vendidas</div>"
        f"<div>{esc(result['product'])} · {esc(result['date'])} · em promoção: {promo}</div>"
        f'<div>Versão do modelo: <code class="model-version">{esc(result["model_version"])}'
        "</code></div>"
        f'<div>ID da predição: <code class="prediction-id">{esc(result["prediction_id"])}'
        "</code></div></div>"
    )


def prediction_form(
    settings: Settings | None = None, logger: Any = None, *, day: date | None = None
) -> PredictionForm:
    """A new form (display it as the last expression of a cell)."""
    return PredictionForm(settings, logger, day=day)
