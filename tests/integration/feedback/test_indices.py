"""workshop.feedback.indices: paging through every event by prediction_id, counting, refresh."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from elasticsearch import helpers

from workshop.config import get_settings
from workshop.errors import StackError
from workshop.feedback import indices


def test_scan_pages_through_every_event_once_in_id_order(es: Any) -> None:
    prefix = f"indices-{uuid.uuid4().hex[:8]}"
    settings = get_settings(index_prefix=prefix)
    ids = sorted(str(uuid.uuid4()) for _ in range(25))
    for day in ("2026.03.01", "2026.03.02"):  # the template's keyword type, for a private prefix
        es.indices.create(
            index=f"{prefix}-{day}", mappings={"properties": {"prediction_id": {"type": "keyword"}}}
        )
    helpers.bulk(
        es,
        [
            {
                "_index": f"{prefix}-2026.03.0{1 + i % 2}",
                "_id": pid,
                "_source": {"prediction_id": pid, "prediction": float(i)},
            }
            for i, pid in enumerate(ids)
        ],
    )
    indices.refresh(es, settings)
    assert indices.count(es, settings, {"match_all": {}}) == 25
    pages = list(indices.scan(es, settings, {"match_all": {}}, ["prediction"], page=10))
    assert [len(p) for p in pages] == [10, 10, 5]
    seen = [hit["_id"] for page in pages for hit in page]
    assert seen == ids  # each once, sorted by prediction_id
    assert set(pages[0][0]["_source"]) == {"prediction"}


def test_refresh_without_an_engine_is_a_pt_br_error() -> None:
    from workshop.stack import connect

    settings = get_settings(es_url="http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(StackError, match="Não consegui falar com o Elasticsearch"):
        indices.refresh(connect(settings, url=settings.es_url), settings)


def test_scan_on_text_ids_says_to_install_the_template(es: Any) -> None:
    prefix = f"indices-{uuid.uuid4().hex[:8]}"
    settings = get_settings(index_prefix=prefix)
    es.index(index=f"{prefix}-2026.03.01", id="x", document={"prediction_id": "x"}, refresh=True)
    with pytest.raises(StackError, match="workshop setup"):
        list(indices.scan(es, settings, {"match_all": {}}, ["prediction_id"]))
