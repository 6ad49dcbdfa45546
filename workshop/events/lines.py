"""Journal lines: cut a block of a segment into lines and sort them into events and bad lines.

The readers of :mod:`workshop.events.journal` read a segment a block at a time and hand each
line to one of the ``take`` functions here: :func:`parse_line` (documents, for transports that
take documents) or :func:`keep_line` (the lines as written, for the bulk transport's
``send_lines``). A line that is not an event comes back apart with its reason in pt-BR.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from workshop.events.schema import Document, line_key_bytes

MAX_LINE_BYTES = 1 << 20  # a longer "line" is corruption, not an event
READ_BLOCK = 256 << 10  # the reader takes a segment a block at a time


def parse_line(line: bytes, docs: list[Document], bad: list[tuple[str, str]]) -> None:
    """The line's document into ``docs``, or the line and its reason into ``bad``; a blank line
    is skipped."""
    text = line.decode("utf-8", errors="replace").rstrip("\n")
    if not text.strip():
        return
    try:
        doc = json.loads(text)
    except ValueError:
        bad.append((text[:2000], "linha corrompida no diário de eventos"))
        return
    if isinstance(doc, dict) and doc.get("prediction_id"):
        docs.append(doc)
    else:
        bad.append((text[:2000], "linha do diário não é um evento"))


def take_lines(
    block: bytes,
    at_end: bool,
    offset: int,
    limit: int,
    take: Callable[[bytes, list[Any], list[tuple[str, str]]], None],
    docs: list[Any],
    bad: list[tuple[str, str]],
) -> tuple[int, bool]:
    """Hand ``take`` the lines of ``block`` (read at ``offset``; ``at_end``: it reached the end
    of the file) as ``readline(MAX_LINE_BYTES)`` would cut them, up to ``limit`` items in all;
    the new offset, and whether to read on in this segment. The block is split in C (the
    logger's worker read 2,000 events in ~1.1 µs each against ~1.5 with a ``readline`` per
    event, in a loop; it runs in the process whose GIL the requests share)."""
    complete = block.rfind(b"\n") + 1
    if complete == 0:  # no newline: the torn last line of the file, or an overlong "line"
        if block:
            take(block, docs, bad)
        return offset + len(block), bool(block) and not at_end
    body = block if complete == len(block) else block[:complete]
    # bytes.splitlines also cuts at "\r", which our JSON lines never hold (json escapes it)
    lines = (
        body.splitlines(keepends=True)
        if b"\r" not in body
        else [piece + b"\n" for piece in body.split(b"\n")[:-1]]
    )
    room = limit - len(docs) - len(bad)
    if len(lines) >= room:  # the limit: the next read goes on from here, in this segment
        for line in lines[:room]:
            take(line, docs, bad)
            offset += len(line)
        return offset, True
    for line in lines:
        take(line, docs, bad)
        offset += len(line)
    if not at_end:  # a line may go on in the next block
        return offset, True
    if complete < len(block):  # the torn last line at the end of the file
        take(block[complete:], docs, bad)
        offset += len(block) - complete
    return offset, False


def keep_line(line: bytes, lines: list[bytes], bad: list[tuple[str, str]]) -> None:
    """The line as written into ``lines`` when it is an event (newline added if torn), else
    into ``bad`` as :func:`parse_line` would."""
    if line_key_bytes(line) is not None:  # our own complete line: no need to parse it here
        lines.append(line)
        return
    parsed: list[Document] = []
    parse_line(line, parsed, bad)
    if parsed:
        lines.append(line if line.endswith(b"\n") else line + b"\n")
