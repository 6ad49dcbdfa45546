"""Traffic simulator: realistic prediction requests sent to the model service over HTTP.

Each request is ``POST /api/predict`` with ``{date, item_nbr, onpromotion}`` and the header
``X-Workshop-Channel: simulator``, so its events are easy to tell apart from the participants'.

What "realistic" means here, by default:

- **products**: every catalogue product equally often — the same mix as the training history
  (one row per product and day), so default traffic shows no drift;
- **promotions**: the store's own promotion calendar (:func:`workshop.dataset.promotion_flags`,
  week-long campaigns, 10–20 % of the weeks depending on the product), as in the history;
- **dates**: spread uniformly over ``days`` days from ``start`` (default: today).

``family_weights`` and ``promotion_rate`` change the mix on purpose (notebook 04 uses them to
create drift; :data:`DRIFTS` names the two shifts notebook 07 sends, see :func:`drift`);
``start``/``days`` choose the target dates (notebook 06 uses the weeks after a regime change).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import pandas as pd

from workshop import dataset, formatting
from workshop.config import get_settings
from workshop.errors import ArgumentError, InvalidInputError, StackError

CHANNEL_HEADER = "X-Workshop-Channel"
CONNECTION_ERROR = "sem resposta"  # by_status key for requests that got no HTTP answer
MAX_CONCURRENCY = 64
MAX_REQUESTS = 1_000_000  # a bound on what one simulation plans (and holds) in memory
MAX_URL_CHARS = 2048


@dataclass
class SimulationSummary:
    """What a simulation did (``by_status``: HTTP status → count, plus ``"sem resposta"``)."""

    sent: int
    ok: int
    errors: int
    seconds: float
    rps: float
    by_status: dict[str, int]
    url: str = ""
    prediction_ids: list[str] = field(default_factory=list, repr=False)
    first_error: str | None = None

    def as_dict(self, with_ids: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not with_ids:
            data.pop("prediction_ids")
        return data

    def __str__(self) -> str:
        status = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_status.items()))
        text = (
            f"Enviadas {formatting.integer(self.sent)} requisições a {self.url} em "
            f"{formatting.seconds(self.seconds)} ({formatting.integer(self.rps)} req/s): "
            f"{formatting.integer(self.ok)} ok, {formatting.integer(self.errors)} com erro "
            f"[{status}]."
        )
        if self.first_error:
            text += f" Primeiro erro: {self.first_error}"
        return text


#: Named shifts of the traffic (keyword arguments of :func:`simulate`): ``mix`` asks about the
#: dairy products eight times as often as the others, ``promocao`` puts 60 % of the requests on
#: promotion (the store's calendar has 10–20 %). Either moves a PSI well past "agir" (0.25).
DRIFTS: dict[str, dict[str, Any]] = {
    "mix": {"family_weights": {"LATICÍNIOS": 8.0}},
    "promocao": {"promotion_rate": 0.6},
}


def drift(*kinds: str) -> dict[str, Any]:
    """Keyword arguments for :func:`simulate` that shift the traffic (``drift("promocao")``)."""
    out: dict[str, Any] = {}
    for kind in kinds:
        if kind not in DRIFTS:
            raise InvalidInputError(
                f"Desvio desconhecido: {kind!r} (use um de: {', '.join(DRIFTS)})"
            )
        out.update(DRIFTS[kind])
    return out


# --------------------------------------------------------------------------- the plan


def _check_weights(family_weights: Mapping[str, float] | None) -> dict[str, float]:
    weights = {family: 1.0 for family in dataset.FAMILIES}
    if not family_weights:
        return weights
    for family, weight in family_weights.items():
        if family not in weights:
            raise InvalidInputError(
                f"Família desconhecida: {family!r} (use uma de: {', '.join(dataset.FAMILIES)})"
            )
        try:
            value = float(weight)
        except (TypeError, ValueError):
            raise InvalidInputError(f"Peso inválido para {family}: {weight!r}") from None
        if not math.isfinite(value) or value < 0:
            raise InvalidInputError(f"Peso inválido para {family}: {weight!r} (use um número ≥ 0)")
        weights[family] = value
    if not any(weights.values()):
        raise InvalidInputError("Pelo menos uma família precisa de peso maior que zero.")
    return weights


def plan_requests(
    n: int,
    *,
    start: dt.date | str | None = None,
    days: int = 28,
    seed: int | None = None,
    family_weights: Mapping[str, float] | None = None,
    promotion_rate: float | None = None,
) -> list[dict[str, Any]]:
    """The ``n`` request bodies a simulation sends (deterministic for a given ``seed``).

    A product's chance is its family's weight (default 1 for every family, i.e. every product
    equally often); ``promotion_rate`` replaces the store's promotion calendar by a fixed
    probability.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"Número de requisições inválido: {n!r} (use um inteiro ≥ 1)")
    if n > MAX_REQUESTS:  # checked before anything is planned: memory grows with n
        raise ArgumentError(
            f"Número de requisições grande demais: {n} (use até {MAX_REQUESTS:,})".replace(",", ".")
        )
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise InvalidInputError(f"Número de dias inválido: {days!r} (use um inteiro ≥ 1)")
    if promotion_rate is not None and not (
        isinstance(promotion_rate, int | float) and 0.0 <= promotion_rate <= 1.0
    ):
        raise InvalidInputError(
            f"Taxa de promoção inválida: {promotion_rate!r} (use um número entre 0 e 1)"
        )
    first = dt.date.today() if start is None else dataset.parse_date(start)
    weights = _check_weights(family_weights)
    products = list(dataset.CATALOGUE)
    rng = random.Random(seed)
    chosen = rng.choices(products, weights=[weights[p.family] for p in products], k=n)
    dates = [first + dt.timedelta(days=rng.randrange(days)) for _ in range(n)]
    if promotion_rate is None:
        frame = pd.DataFrame(
            {"date": pd.to_datetime(dates), "item_nbr": [p.item_nbr for p in chosen]}
        )
        promos = [bool(x) for x in dataset.promotion_flags(frame)]
    else:
        promos = [rng.random() < promotion_rate for _ in range(n)]
    return [
        {"date": day.isoformat(), "item_nbr": product.item_nbr, "onpromotion": promo}
        for day, product, promo in zip(dates, chosen, promos, strict=True)
    ]


# --------------------------------------------------------------------------- sending


def check_url(url: str) -> str:
    """The service URL without a trailing slash; a pt-BR :class:`ArgumentError` when it cannot
    be one (too long, not http(s), no host)."""
    shown = url if len(url) <= 80 else url[:79] + "…"
    if len(url) > MAX_URL_CHARS:
        raise ArgumentError(f"URL longa demais ({len(url)} caracteres): {shown}")
    try:
        parts = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.host:
        raise ArgumentError(f"URL inválida: {shown} (use algo como http://localhost:11000)")
    return url.rstrip("/")


def check_service(url: str, client: httpx.Client | None = None) -> dict[str, Any]:
    """``/health`` of the service, or a pt-BR :class:`StackError` saying what to do."""
    try:
        resp = (client or httpx).get(url + "/health", timeout=5.0)
        health = resp.json()
    except (httpx.HTTPError, ValueError):
        raise StackError(
            f"O serviço do modelo não respondeu em {url}. Inicie-o com `workshop serve` "
            "(ou execute o notebook 02)."
        ) from None
    if not isinstance(health, dict) or "model_loaded" not in health:
        raise ArgumentError(
            f"{url} respondeu (HTTP {resp.status_code}), mas não é o serviço do modelo: confira o "
            "--url — só o endereço, sem caminho (ex.: http://localhost:11000)."
        )
    if not health.get("model_loaded"):
        raise StackError(
            f"O serviço em {url} está no ar, mas sem modelo carregado: treine um com o "
            "notebook 01 ou `workshop train --promote`."
        )
    return health


def simulate(
    n: int = 500,
    concurrency: int = 8,
    start: dt.date | str | None = None,
    days: int = 28,
    url: str | None = None,
    seed: int | None = None,
    family_weights: Mapping[str, float] | None = None,
    promotion_rate: float | None = None,
    progress: bool = True,
    *,
    transport: httpx.BaseTransport | None = None,
) -> SimulationSummary:
    """Send ``n`` prediction requests to the service with ``concurrency`` parallel connections.

    ``url`` defaults to ``WORKSHOP_SERVICE_URL``. Returns a :class:`SimulationSummary`; request
    errors are counted, not raised (a service that is not up at all raises :class:`StackError`).
    ``transport`` lets tests plug an ``httpx.MockTransport``.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise InvalidInputError(f"Concorrência inválida: {concurrency!r}")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InvalidInputError(
            f"Concorrência inválida: {concurrency} (use de 1 a {MAX_CONCURRENCY})"
        )
    bodies = plan_requests(
        n,
        start=start,
        days=days,
        seed=seed,
        family_weights=family_weights,
        promotion_rate=promotion_rate,
    )
    base = check_url(url or get_settings().service_url)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    client = httpx.Client(
        base_url=base,
        headers={CHANNEL_HEADER: "simulator"},
        timeout=httpx.Timeout(10.0),
        limits=limits,
        transport=transport,
    )
    statuses: Counter[str] = Counter()
    ids: list[str] = []
    first_error: list[str] = []
    lock = threading.Lock()

    def send(body: dict[str, Any]) -> None:
        try:
            resp = client.post("/api/predict", json=body)
        except httpx.HTTPError as exc:
            with lock:
                statuses[CONNECTION_ERROR] += 1
                if not first_error:
                    first_error.append(f"{type(exc).__name__}: {exc}")
            return
        with lock:
            statuses[str(resp.status_code)] += 1
            if resp.is_success:
                # a 2xx answer without an id still counts as ok (ids are a convenience)
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    ids.append(str(resp.json()["prediction_id"]))
            elif not first_error:
                first_error.append(f"HTTP {resp.status_code}: {resp.text[:200]}")

    bar = None
    try:
        check_service(base, client)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=n, desc="Simulando tráfego", unit="req")
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="simulate") as pool:
            for future in as_completed([pool.submit(send, body) for body in bodies]):
                future.result()
                if bar is not None:
                    bar.update(1)
        seconds = time.perf_counter() - started
    finally:
        if bar is not None:
            bar.close()
        client.close()
    ok = sum(v for k, v in statuses.items() if k.isdigit() and 200 <= int(k) < 300)
    return SimulationSummary(
        sent=n,
        ok=ok,
        errors=n - ok,
        seconds=round(seconds, 3),
        rps=round(n / seconds, 1) if seconds > 0 else 0.0,
        by_status=dict(sorted(statuses.items())),
        url=base,
        prediction_ids=ids,
        first_error=first_error[0] if first_error else None,
    )
