"""``elasticsearch``: the bulk API straight into ``model-YYYY.MM.DD`` with ``_id = prediction_id``
(the embedded stack and CI)."""

from __future__ import annotations

import contextlib
from typing import Any

from workshop.config import Settings, get_settings
from workshop.events.schema import Document, index_name
from workshop.events.transports.base import SendResult, _describe, _retryable_status


class ElasticsearchTransport:
    """Bulk API into ``<prefix>-YYYY.MM.DD`` with ``_id = prediction_id``.

    The client comes from :func:`workshop.stack.connect` (embedded engine or real Elasticsearch)
    and is rebuilt after every failure, so a restarted engine (or one that was not up when the
    logger started, and so was not recognised as the embedded engine) is picked up again.
    """

    name = "elasticsearch"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        url: str | None = None,
        index_prefix: str | None = None,
        request_timeout: float = 10.0,
    ) -> None:
        self._settings = settings or get_settings()
        self.url = (url or self._settings.es_url).rstrip("/")
        self.index_prefix = index_prefix or self._settings.index_prefix
        self._request_timeout = request_timeout
        self._client: Any = None

    def _connect(self) -> Any:
        if self._client is None:
            from workshop import stack

            client = stack.connect(
                self._settings, url=self.url, request_timeout=self._request_timeout
            )
            # One attempt per call: the logger has its own retry (spool + replay with backoff).
            client = client.options(max_retries=0)
            if self.index_prefix == self._settings.index_prefix:
                # After an engine restart (the embedded one forgets everything) the template
                # must be back before the first event, or model-… gets guessed field types.
                stack.ensure_template(client)
            self._client = client
        return self._client

    def _actions(
        self, docs: list[Document], rejected: list[tuple[Document, str]]
    ) -> tuple[list[dict[str, Any]], list[Document]]:
        actions: list[dict[str, Any]] = []
        order: list[Document] = []  # docs in the order of their actions (= order of results)
        for doc in docs:
            try:
                actions.append(
                    {
                        "_op_type": "index",
                        "_index": index_name(doc["@timestamp"], self.index_prefix),
                        "_id": str(doc["prediction_id"]),
                        "_source": doc,
                    }
                )
            except (KeyError, TypeError, ValueError) as exc:
                rejected.append((doc, f"documento inválido: {exc!r}"))
                continue
            order.append(doc)
        return actions, order

    def send(self, docs: list[Document]) -> SendResult:
        from elasticsearch import helpers

        result = SendResult()
        actions, order = self._actions(docs, result.rejected)
        if not actions:
            return result
        answered = 0
        try:
            client = self._connect()
            for ok, item in helpers.streaming_bulk(
                client,
                actions,
                chunk_size=len(actions),
                max_chunk_bytes=50 * 1024 * 1024,
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=0,
            ):
                doc = order[answered]
                answered += 1
                if ok:
                    result.delivered += 1
                    continue
                info = next(iter(item.values()), {}) if isinstance(item, dict) else {}
                status = info.get("status")
                if _retryable_status(status):
                    result.retry.append(doc)
                    result.error = f"HTTP {status}: {info.get('error')}"
                else:
                    result.rejected.append((doc, f"HTTP {status}: {info.get('error')}"))
        except Exception as exc:  # connection refused, timeout, 406, 5xx of the whole request…
            self.close()
            result.retry.extend(order[answered:])
            result.error = _describe(exc)
        return result

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
