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
import http.client
import json
import math
import random
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

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
#
# One ``http.client`` connection per sending thread, kept alive for the whole run. The
# simulator used an ``httpx.Client`` until issue 15: httpx spent ~1.2 ms of CPU per request in
# the simulating process (2,000 requests on the 2-core box: 2.35-2.65 s of CPU, 2.9-3.2 s of
# wall time), ``http.client`` ~0.28 ms (0.56-0.58 s of CPU, 1.6-1.9 s) for the same answers.

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Target:
    """Where the requests go: scheme, host, port and the path prefix of the service URL."""

    scheme: str
    host: str
    port: int | None
    prefix: str

    def connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=TIMEOUT_SECONDS)


def check_url(url: str) -> str:
    """The service URL without a trailing slash; a pt-BR :class:`ArgumentError` when it cannot
    be one (too long, not http(s), no host)."""
    _parse_url(url)
    return url.rstrip("/")


def _parse_url(url: str) -> Target:
    shown = url if len(url) <= 80 else url[:79] + "…"
    if len(url) > MAX_URL_CHARS:
        raise ArgumentError(f"URL longa demais ({len(url)} caracteres): {shown}")
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except (ValueError, TypeError, AttributeError):
        host = port = None
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not host:
        raise ArgumentError(f"URL inválida: {shown} (use algo como http://localhost:11000)")
    return Target(parts.scheme, host, port, parts.path.rstrip("/"))


def _no_answer(exc: BaseException) -> str:
    """What a request that got no HTTP answer met, for ``first_error``."""
    if isinstance(exc, TimeoutError):
        return f"sem resposta em {TIMEOUT_SECONDS:g} s ({type(exc).__name__})"
    return f"sem conexão ({type(exc).__name__}: {exc})"


def check_service(url: str) -> dict[str, Any]:
    """``/health`` of the service, or a pt-BR :class:`StackError` saying what to do."""
    target = _parse_url(url)
    conn = target.connect()
    try:
        conn.request("GET", target.prefix + "/health")
        resp = conn.getresponse()
        status, data = resp.status, resp.read()
        health = json.loads(data)
    except (OSError, http.client.HTTPException, ValueError):
        raise StackError(
            f"O serviço do modelo não respondeu em {url}. Inicie-o com `workshop serve` "
            "(ou execute o notebook 02)."
        ) from None
    finally:
        conn.close()
    if not isinstance(health, dict) or "model_loaded" not in health:
        raise ArgumentError(
            f"{url} respondeu (HTTP {status}), mas não é o serviço do modelo: confira o "
            "--url — só o endereço, sem caminho (ex.: http://localhost:11000)."
        )
    if not health.get("model_loaded"):
        raise StackError(
            f"O serviço em {url} está no ar, mas sem modelo carregado: treine um com o "
            "notebook 01 ou `workshop train --promote`."
        )
    return health


class _Run:
    """The shared state of one simulation: the plan to hand out and what came back."""

    def __init__(self, target: Target, bodies: list[dict[str, Any]]) -> None:
        self.target = target
        self.bodies = iter(bodies)
        self.lock = threading.Lock()
        self.statuses: Counter[str] = Counter()
        self.ids: list[str] = []
        self.first_error: str | None = None
        self.done = 0

    def next_body(self) -> dict[str, Any] | None:
        with self.lock:
            return next(self.bodies, None)

    def cancel(self) -> None:
        """Hand out no more requests (an interrupted run: the senders finish the one they
        are sending, at most :data:`TIMEOUT_SECONDS`, and stop)."""
        with self.lock:
            self.bodies = iter(())

    def sender(self) -> None:
        """One sending thread: its own keep-alive connection, one request at a time."""
        path = self.target.prefix + "/api/predict"
        headers = {"Content-Type": "application/json", CHANNEL_HEADER: "simulator"}
        conn: http.client.HTTPConnection | None = None
        try:
            while (body := self.next_body()) is not None:
                if conn is None:
                    conn = self.target.connect()
                try:
                    conn.request("POST", path, json.dumps(body).encode(), headers)
                    resp = conn.getresponse()
                    status, data = resp.status, resp.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = None  # the next request opens a new connection
                    self.record(None, b"", _no_answer(exc))
                    continue
                if resp.will_close:
                    conn.close()
                    conn = None
                self.record(status, data)
        finally:
            if conn is not None:
                conn.close()

    def record(self, status: int | None, data: bytes, error: str | None = None) -> None:
        with self.lock:
            self.done += 1
            if status is None:
                self.statuses[CONNECTION_ERROR] += 1
                if self.first_error is None:
                    self.first_error = error
                return
            self.statuses[str(status)] += 1
            if 200 <= status < 300:
                # a 2xx answer without an id still counts as ok (ids are a convenience)
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    self.ids.append(str(json.loads(data)["prediction_id"]))
            elif self.first_error is None:
                text = data.decode("utf-8", errors="replace")[:200]
                self.first_error = f"HTTP {status}: {text}"


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
) -> SimulationSummary:
    """Send ``n`` prediction requests to the service with ``concurrency`` parallel connections.

    ``url`` defaults to ``WORKSHOP_SERVICE_URL``. Returns a :class:`SimulationSummary`; request
    errors are counted, not raised (a service that is not up at all raises :class:`StackError`).
    The senders are plain threads, so this works inside a running Jupyter event loop.
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
    check_service(base)
    run = _Run(_parse_url(base), bodies)
    senders = [
        threading.Thread(target=run.sender, name=f"simulate-{i}", daemon=True)
        for i in range(min(concurrency, n))
    ]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="Simulando tráfego", unit="req")
    started = time.perf_counter()
    try:
        for thread in senders:
            thread.start()
        for thread in senders:
            # The bar moves from here (not from the senders: no tqdm call per request).
            while thread.is_alive():
                thread.join(0.1)
                if bar is not None:
                    bar.update(run.done - bar.n)
        seconds = time.perf_counter() - started
    except BaseException:  # Ctrl+C / the notebook's stop button: no request after this one
        run.cancel()
        raise
    finally:
        if bar is not None:
            bar.update(run.done - bar.n)
            bar.close()
    ok = sum(v for k, v in run.statuses.items() if k.isdigit() and 200 <= int(k) < 300)
    return SimulationSummary(
        sent=n,
        ok=ok,
        errors=n - ok,
        seconds=round(seconds, 3),
        rps=round(n / seconds, 1) if seconds > 0 else 0.0,
        by_status=dict(sorted(run.statuses.items())),
        url=base,
        prediction_ids=run.ids,
        first_error=run.first_error,
    )
