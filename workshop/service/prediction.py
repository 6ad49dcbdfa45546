"""The prediction path shared by the form, the JSON API and the widget: input → model → event.

:class:`ModelHolder` loads the production model and swaps in a newly promoted version (polling the
registry's pointer four times a second, off the request path); :class:`PredictionService`
validates the question, asks the :class:`Predictor`, and emits exactly one prediction event."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from workshop.config import Settings, get_settings
from workshop.dataset import (
    FORECAST_END,
    FORECAST_START,
    HISTORY_END,
    HISTORY_START,
    Product,
    parse_date,
    product_by_item,
    product_by_name,
)
from workshop.errors import InvalidInputError, ModelNotFoundError
from workshop.events.schema import event_line
from workshop.formatting import day
from workshop.modeling.registry import NO_MODEL_MESSAGE

log = logging.getLogger(__name__)

CHANNEL_HEADER = "X-Workshop-Channel"
HTTP_CHANNELS = ("http", "simulator")  # what a client may ask for with the header
# A promoted version answers within this (plus its load): notebooks 06 and 07 wait on it.
POLL_INTERVAL_S = 0.25


# --------------------------------------------------------------------------- input validation


def _shown(value: object, limit: int = 40) -> str:
    """A user value echoed in a message, shortened (HTML escaping happens at render time)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_forecast_date(value: Any) -> date:
    """:func:`parse_date`, then the model's horizon (``FORECAST_START``–``FORECAST_END``)."""
    parsed = parse_date(value, bounded=False)
    if not FORECAST_START <= parsed <= FORECAST_END:
        raise InvalidInputError(
            f"Data fora do horizonte do modelo: {day(parsed)}. Ele aprendeu com as vendas de "
            f"{HISTORY_START.year}–{HISTORY_END.year} e responde de {day(FORECAST_START)} a "
            f"{day(FORECAST_END)} (até 3 anos depois do treino); mais longe, a previsão "
            "seria pura extrapolação."
        )
    return parsed


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
    """The event channel asked for with ``X-Workshop-Channel`` (default ``http``): exactly one of
    :data:`HTTP_CHANNELS`, as the OpenAPI schema says (no case folding, no spaces)."""
    if value is None:
        return "http"
    if value not in HTTP_CHANNELS:
        raise InvalidInputError(
            f"Cabeçalho {CHANNEL_HEADER} inválido: “{_shown(value)}” — use "
            + " ou ".join(HTTP_CHANNELS)
            + " (ou omita o cabeçalho)."
        )
    return value


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

    ``log_events`` exists for ``benchmarks/service.py`` (event logging on/off on one server:
    off, the answer is the same event, built the same way and not written); participants always
    log.
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

    def answer(
        self, question: PredictionInput, channel: str, max_age: float | None = None
    ) -> bytes:
        """Predict, emit one event (when logging), and return the API answer as JSON bytes.

        The answer *is* the event: the journal's line (:func:`event_line`), built and serialised
        once, written to the journal before this returns, and sent back as it is. So the
        ``@timestamp`` and ``prediction_id`` a client gets are those it will find in
        Elasticsearch and Kibana. (Building a second dict for the answer and serialising it
        again cost ~15 µs per request at c = 1 on top of the line, ``benchmarks/service.py``.)
        """
        predictor = self.model.get(max_age)
        if self.single_thread:
            _single_openmp_thread()
        result = predictor.predict(question.date, question.product.item_nbr, question.onpromotion)
        _, line = event_line(
            prediction=float(result.prediction),
            model_version=result.model_version,
            channel=channel,
            day=question.date,
            product=question.product,
            onpromotion=question.onpromotion,
            latency_ms=result.latency_ms,
        )
        if self.log_events:
            self.logger.emit_line(line)
        return line

    def predict(
        self, question: PredictionInput, channel: str, max_age: float | None = None
    ) -> dict[str, Any]:
        """:meth:`answer` as a dict (the web form's page and the notebook's widget)."""
        answer: dict[str, Any] = json.loads(self.answer(question, channel, max_age))
        return answer

    def flush(self, timeout: float = 5.0) -> None:
        """Wait for the logger to deliver the events emitted so far."""
        if self._logger is not None:
            try:
                self._logger.flush(timeout=timeout)
            except Exception as exc:
                log.warning("event flush failed: %s", exc)
