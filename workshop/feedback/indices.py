"""How the feedback loop reads the event indices: refresh, count and page through them.

Shared by labelling, live error, curation and the demo loop; knows the index pattern from the
settings and turns connection and mapping problems into pt-BR :class:`StackError` messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from workshop.config import Settings
from workshop.errors import StackError


def search_kwargs(settings: Settings) -> dict[str, Any]:
    return {"index": settings.index_pattern, "ignore_unavailable": True, "allow_no_indices": True}


def refresh(es: Elasticsearch, settings: Settings) -> None:
    try:
        es.indices.refresh(
            index=settings.index_pattern, ignore_unavailable=True, allow_no_indices=True
        )
    except Exception as exc:
        raise StackError(
            f"Não consegui falar com o Elasticsearch ({exc}). Confira com `workshop doctor`."
        ) from exc


def count(es: Elasticsearch, settings: Settings, query: dict[str, Any]) -> int:
    return int(es.count(query=query, **search_kwargs(settings))["count"])


def scan(
    es: Elasticsearch,
    settings: Settings,
    query: dict[str, Any],
    fields: list[str],
    page: int = 1000,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of hits (with ``_index``/``_id``), sorted by ``prediction_id`` (search_after)."""
    after: list[Any] | None = None
    while True:
        kwargs: dict[str, Any] = {
            "query": query,
            "size": page,
            "sort": [{"prediction_id": "asc"}],
            "source": fields,
            **search_kwargs(settings),
        }
        if after is not None:
            kwargs["search_after"] = after
        try:
            hits = es.search(**kwargs)["hits"]["hits"]
        except BadRequestError as exc:
            raise StackError(
                "Os índices de eventos não têm o mapeamento esperado (prediction_id deveria ser "
                f"keyword): instale o template com `workshop setup` antes dos eventos ({exc})."
            ) from None
        if not hits:
            return
        yield hits
        after = hits[-1]["sort"]
        if len(hits) < page:
            return
