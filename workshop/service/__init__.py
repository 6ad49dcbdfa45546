"""The model service (FastAPI): the pt-BR web form on ``/``, the JSON API and ``/health``.

``workshop serve`` runs :func:`create_app` with uvicorn on :11000. The same prediction path
(:class:`PredictionService`) backs the HTML form, ``POST /api/predict`` and the notebook widget
(:mod:`workshop.widgets`): validate the input, ask the current production :class:`Predictor`,
emit exactly one :class:`PredictionEvent`.

``prediction``
    the model holder (hot swap of a newly promoted version) and the prediction path;
``schemas``
    the JSON API's request and response models (what ``/docs`` shows);
``validation``
    pt-BR messages for bad input, and the 16 KiB body limit;
``page``
    the form page, rendered from ``workshop/templates/form.html`` (autoescaped), its CSS in
    ``workshop/static/``;
``app``
    the routes (:func:`create_app`) and :func:`run`.

Bad input never becomes a 500: dates, products, fields, types, non-JSON bodies and bodies over
16 KiB are answered with a 4xx and a pt-BR message, and nothing is logged for them.
"""

from workshop.modeling.registry import NO_MODEL_MESSAGE
from workshop.service.app import create_app, run
from workshop.service.page import _number, render_page
from workshop.service.prediction import (
    CHANNEL_HEADER,
    HTTP_CHANNELS,
    POLL_INTERVAL_S,
    ModelHolder,
    PredictionInput,
    PredictionService,
    parse_channel,
    resolve_product,
)
from workshop.service.schemas import (
    API_FIELDS,
    ErrorOut,
    HealthOut,
    PredictRequest,
    PredictResponse,
    ProductOut,
)
from workshop.service.validation import MAX_BODY_BYTES, BodySizeLimit, validation_message

__all__ = [
    "API_FIELDS",
    "CHANNEL_HEADER",
    "HTTP_CHANNELS",
    "MAX_BODY_BYTES",
    "NO_MODEL_MESSAGE",
    "POLL_INTERVAL_S",
    "BodySizeLimit",
    "ErrorOut",
    "HealthOut",
    "ModelHolder",
    "PredictRequest",
    "PredictResponse",
    "PredictionInput",
    "PredictionService",
    "ProductOut",
    "_number",
    "create_app",
    "parse_channel",
    "render_page",
    "resolve_product",
    "run",
    "validation_message",
]
