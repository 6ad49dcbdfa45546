"""``elasticsearch``: the bulk API straight into ``model-YYYY.MM.DD`` with ``_id = prediction_id``
(the embedded stack and CI)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from workshop.config import Settings, get_settings
from workshop.events.schema import Document, index_name, line_key_bytes
from workshop.events.transports.base import SendResult, _describe, _retryable_status

# Enough of a _bulk answer to know, item by item, what was indexed and why not.
_BULK_FILTER = "errors,items.*.status,items.*.error.type,items.*.error.reason"


def _text(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").rstrip("\n")[:2000]


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
        self._action_start: dict[bytes, bytes] = {}  # b'YYYY-MM-DD' -> its action line's start

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

    def send_lines(self, lines: list[bytes]) -> SendResult:
        """The journal's lines as they are, in one ``_bulk`` request (the logger's hot path).

        Each line already is the document's JSON; only its action line is added, with the index
        and ``_id`` read by :func:`line_key_bytes`: no parse and no re-serialisation in the
        service's process, whose GIL the requests share. The answer is asked for as
        ``filter_path=errors`` (``{"errors":false}``: reading 2,000 item statuses cost the
        worker about as much as building the body). When ``errors`` is true, the same lines go
        again with each item's status and error (:meth:`_send_itemised`): a document indexed
        twice under its ``prediction_id`` is the same document, and the answer then says item by
        item what to retry and what to set apart. ``retry`` and ``rejected`` hold lines (text,
        for ``rejected``)."""
        result = SendResult()
        body: list[bytes] = []
        order: list[bytes] = []
        for line in lines:
            action = self._action_line(line)
            if action is None:
                result.rejected.append((_text(line), "documento inválido: sem @timestamp ou id"))
                continue
            body.append(action)
            body.append(line)
            order.append(line)
        if not order:
            return result
        data = b"".join(body)
        answer = self._bulk(data, "errors", order, result)
        if answer is None:
            return result
        if not answer.get("errors"):
            result.delivered = len(order)
            return result
        again = self._send_itemised(order, data)
        again.rejected[:0] = result.rejected
        return again

    def _bulk(
        self, body: bytes, filter_path: str, order: list[bytes], result: SendResult
    ) -> dict[str, Any] | None:
        """One ``_bulk`` request; ``None`` (and ``order`` to retry in ``result``) when the
        request as a whole failed."""
        try:
            return dict(self._connect().bulk(operations=body, filter_path=filter_path).body)
        except Exception as exc:  # connection refused, timeout, 406, 5xx of the whole request…
            self.close()
            result.retry.extend(order)
            result.error = _describe(exc)
            return None

    def _send_itemised(self, order: list[bytes], data: bytes) -> SendResult:
        """The lines of a bulk whose answer said ``errors``, again, asking each item's status."""
        result = SendResult()
        answer = self._bulk(data, _BULK_FILTER, order, result)
        if answer is None:
            return result
        if not answer.get("errors"):
            result.delivered = len(order)
            return result
        items = answer.get("items") or []
        for line, item in zip(order, items, strict=False):
            info = next(iter(item.values()), {}) if isinstance(item, dict) else {}
            status = info.get("status")
            if isinstance(status, int) and 200 <= status < 300:
                result.delivered += 1
            elif _retryable_status(status):
                result.retry.append(line)
                result.error = f"HTTP {status}: {info.get('error')}"
            else:
                result.rejected.append((_text(line), f"HTTP {status}: {info.get('error')}"))
        if len(items) < len(order):  # an answer without every item: send the rest again
            result.retry.extend(order[len(items) :])
            result.error = result.error or "resposta do _bulk sem todos os itens"
        return result

    def _action_line(self, line: bytes) -> bytes | None:
        key = line_key_bytes(line)
        if key is not None:
            day, doc_id = key  # a UUID: nothing to escape
            start = self._action_start.get(day)
            if start is None:  # one action start per day, not one per event
                index = json.dumps(f"{self.index_prefix}-{day.decode().replace('-', '.')}")
                start = self._action_start.setdefault(
                    day, f'{{"index":{{"_index":{index},"_id":"'.encode()
                )
            return start + doc_id + b'"}}\n'
        try:  # a line in another shape (written by hand, another key order): parse it
            doc = json.loads(line)
            index = index_name(doc["@timestamp"], self.index_prefix)
            doc_id = str(doc["prediction_id"])
        except (KeyError, TypeError, ValueError):
            return None
        return (json.dumps({"index": {"_index": index, "_id": doc_id}}) + "\n").encode()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
