"""infra/fluentd/fluent.conf carries the settings DESIGN.md and issue 5 name, each with a comment.

Fluentd itself cannot run here (no Ruby gems registry, no Docker); the image build runs
``fluentd --dry-run`` on this file. These checks read it with a small parser of Fluentd's
configuration syntax (directives ``<name arg>…</name>``, ``key value`` parameters, ``#`` comments).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT
from workshop.config import Settings

FLUENT_CONF = ROOT / "infra" / "fluentd" / "fluent.conf"
_OPEN = re.compile(r"^<([A-Za-z_@][\w.@-]*)(?:\s+([^>]*))?>$")
_CLOSE = re.compile(r"^</([A-Za-z_@][\w.@-]*)>$")
_PARAM = re.compile(r"^(@?[A-Za-z_][\w.-]*)(?:\s+(.*))?$")


@dataclass
class Directive:
    name: str
    arg: str = ""
    params: dict[str, str] = field(default_factory=dict)
    children: list[Directive] = field(default_factory=list)
    line: int = 0

    def find(self, name: str) -> list[Directive]:
        return [child for child in self.children if child.name == name]

    def walk(self) -> Iterator[Directive]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class ParsedConf(Directive):
    uncommented: list[tuple[int, str]] = field(default_factory=list)


def parse_fluent_conf(text: str | None = None) -> ParsedConf:
    """Parse Fluentd configuration text (default: infra/fluentd/fluent.conf).

    Also records parameters whose previous non-blank line is not a comment (``uncommented``).
    """
    if text is None:
        text = FLUENT_CONF.read_text()
    root = ParsedConf("ROOT")
    stack: list[Directive] = [root]
    previous = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            previous = line
            continue
        if match := _CLOSE.match(line):
            if len(stack) == 1 or stack[-1].name != match.group(1):
                raise ValueError(f"line {number}: unexpected {line}")
            stack.pop()
        elif match := _OPEN.match(line):
            child = Directive(match.group(1), (match.group(2) or "").strip(), line=number)
            stack[-1].children.append(child)
            stack.append(child)
        elif match := _PARAM.match(line):
            key, value = match.group(1), (match.group(2) or "").strip()
            if key in stack[-1].params:
                raise ValueError(f"line {number}: {key} set twice")
            stack[-1].params[key] = value
            if not previous.startswith("#"):
                root.uncommented.append((number, line))
        else:
            raise ValueError(f"line {number}: cannot parse {line!r}")
        previous = line
    if len(stack) != 1:
        raise ValueError(f"<{stack[-1].name}> opened on line {stack[-1].line} is never closed")
    return root


def tag_matches(pattern: str, tag: str) -> bool:
    """Fluentd's match patterns: ``*`` one tag part, ``**`` zero or more parts, ``{a,b}`` either."""

    def part_regex(part: str) -> str:
        regex = ""
        for token in re.split(r"(\*|\{[^}]*\})", part):
            if token == "*":
                regex += r"[^.]+"
            elif token.startswith("{"):
                regex += "(?:" + "|".join(map(re.escape, token[1:-1].split(","))) + ")"
            else:
                regex += re.escape(token)
        return regex

    def match(parts: list[str], words: list[str]) -> bool:
        if not parts:
            return not words
        if parts[0] == "**":
            return any(match(parts[1:], words[i:]) for i in range(len(words) + 1))
        return (
            bool(words)
            and bool(re.fullmatch(part_regex(parts[0]), words[0]))
            and match(parts[1:], words[1:])
        )

    return match(pattern.split("."), tag.split("."))


@pytest.fixture(scope="module")
def conf() -> ParsedConf:
    return parse_fluent_conf()


@pytest.fixture(scope="module")
def prediction_match(conf: ParsedConf) -> Directive:
    """The <match> that receives the service's events (tag WORKSHOP_EVENT_TAG)."""
    tag = Settings.model_fields["event_tag"].default
    matches = [m for m in conf.find("match") if any(tag_matches(p, tag) for p in m.arg.split())]
    assert len(matches) == 1, f"exactly one <match> must receive {tag!r}"
    return matches[0]


@pytest.fixture(scope="module")
def es_store(prediction_match: Directive) -> Directive:
    assert prediction_match.params["@type"] == "copy"
    stores = [s for s in prediction_match.find("store") if s.params["@type"] == "elasticsearch"]
    assert len(stores) == 1
    return stores[0]


# --- the parser itself ---------------------------------------------------------------------------


def test_parser_reads_directives_parameters_and_comments() -> None:
    parsed = parse_fluent_conf(
        "# why\n<source>\n  # because\n  @type forward\n  port 1\n</source>\n"
    )
    (source,) = parsed.find("source")
    assert source.params == {"@type": "forward", "port": "1"}
    assert parsed.uncommented == [(5, "port 1")]


@pytest.mark.parametrize("text", ["<source>\n", "</source>\n", "<a>\n</b>\n", "x 1\nx 2\n"])
def test_parser_rejects_broken_configurations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_fluent_conf(text)


@pytest.mark.parametrize(
    ("pattern", "tag", "expected"),
    [
        ("model.**", "model.prediction", True),
        ("model.**", "model", True),
        ("model.**", "model.a.b", True),
        ("model.*", "model.prediction", True),
        ("model.*", "model.a.b", False),
        ("model.**", "models.prediction", False),
        ("{a,model}.prediction", "model.prediction", True),
    ],
)
def test_tag_patterns(pattern: str, tag: str, expected: bool) -> None:
    assert tag_matches(pattern, tag) is expected


# --- every setting says why ----------------------------------------------------------------------


def test_every_setting_is_commented(conf: ParsedConf) -> None:
    assert conf.uncommented == [], "settings without a comment line above them"


# --- input ---------------------------------------------------------------------------------------


def test_forward_input_on_24224(conf: ParsedConf) -> None:
    (forward,) = [s for s in conf.find("source") if s.params["@type"] == "forward"]
    assert forward.params["port"] == "24224"
    assert forward.params["bind"] == "0.0.0.0"
    assert Settings.model_fields["fluentd_port"].default == 24224


def test_monitor_agent_for_the_healthcheck_stays_on_loopback(conf: ParsedConf) -> None:
    (agent,) = [s for s in conf.find("source") if s.params["@type"] == "monitor_agent"]
    assert agent.params["bind"] == "127.0.0.1"


# --- output to Elasticsearch ---------------------------------------------------------------------


def test_daily_indices_named_like_the_direct_transport(es_store: Directive) -> None:
    p = es_store.params
    assert p["logstash_format"] == "true"
    assert p["logstash_prefix"] == Settings.model_fields["index_prefix"].default == "model"
    assert p.get("logstash_dateformat", "%Y.%m.%d") == "%Y.%m.%d"
    assert p.get("utc_index", "true") == "true"
    assert p["host"] == "elasticsearch" and p["port"] == "9200"


def test_prediction_id_is_the_document_id(es_store: Directive) -> None:
    assert es_store.params["id_key"] == "prediction_id"
    assert es_store.params.get("write_operation", "index") == "index"  # a resend overwrites


def test_the_events_own_timestamp_is_honoured(es_store: Directive) -> None:
    """With logstash_format the plugin keeps a record's @timestamp and dates the index from it;
    time_key @timestamp only renamed that default (issue 12, item 11: it did nothing here)."""
    p = es_store.params
    assert p["logstash_format"] == "true"
    assert "time_key" not in p, "time_key @timestamp is the plugin's default reading: no-op"
    assert p.get("time_key_exclude_timestamp", "false") == "false"
    assert "time_key_format" not in p, "a wrong format silently falls back to the arrival time"


def test_no_settings_that_do_nothing_on_elasticsearch_8(es_store: Directive) -> None:
    # the plugin sends no _type to an 8.x cluster by itself: suppress_type_name was a no-op
    assert "suppress_type_name" not in es_store.params
    assert "type_name" not in es_store.params


def comment_before(key: str) -> str:
    """The comment block right above the first line setting ``key`` in fluent.conf."""
    lines = FLUENT_CONF.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{key} "))
    block: list[str] = []
    for line in reversed(lines[:index]):
        if not line.strip().startswith("#"):
            break
        block.insert(0, line.strip().lstrip("#").strip())
    return " ".join(block)


def test_the_retry_comment_gives_the_real_switch_to_secondary(es_store: Directive) -> None:
    """Fluentd switches to <secondary> after retry_secondary_threshold (default 0.8) of
    retry_timeout, not at retry_timeout (issue 12, item 11)."""
    (buffer,) = es_store.find("buffer")
    timeout = buffer.params["retry_timeout"]
    assert timeout.endswith("h")
    threshold = float(buffer.params.get("retry_secondary_threshold", "0.8"))
    minutes = round(float(timeout[:-1]) * 60 * threshold)
    comment = comment_before("retry_timeout")
    assert f"about {minutes}" in comment and "retry_secondary_threshold" in comment, comment


def test_the_overflow_comment_admits_duplicate_writes() -> None:
    comment = comment_before("overflow_action")
    assert "more than once" in comment and "id_key prediction_id" in comment, comment


def test_the_secondary_comment_says_how_to_recover_for_real() -> None:
    """The dumps are NOT in the service's spool (Fluentd acked them): the comment must say so and
    give the Fluentd commands that resend them."""
    text = FLUENT_CONF.read_text()
    block = text[text.index("\n    <secondary>") : text.index("</secondary>")]
    assert "not in the service's spool" in block.lower()
    assert "cannot resend them" in block  # no false promise of `workshop events replay`
    assert "fluent-binlog-reader cat -f json" in block and "fluent-cat model.prediction" in block
    assert "failed/dump.bin.*" in block


def test_version_detection_for_8_survives_elasticsearch_starting_late(es_store: Directive) -> None:
    p = es_store.params
    assert p["verify_es_version_at_startup"] == "true"
    assert p["default_elasticsearch_version"] == "8"
    assert int(p["max_retry_get_es_version"]) >= 1
    assert p["fail_on_detecting_es_version_retry_exceed"] == "false"


def test_file_buffer_flushes_every_second_with_bounded_exponential_retries(
    es_store: Directive,
) -> None:
    (buffer,) = es_store.find("buffer")
    assert "tag" in [key.strip() for key in buffer.arg.split(",")]
    b = buffer.params
    assert b["@type"] == "file"
    assert b["path"].startswith("/fluentd/buffer/")
    assert b["flush_mode"] == "interval" and b["flush_interval"] == "1s"
    assert b["flush_at_shutdown"] == "true"
    assert b["retry_type"] == "exponential_backoff"
    assert b["retry_max_interval"]
    assert b.get("retry_forever", "false") == "false"
    assert "retry_timeout" in b or "retry_max_times" in b, "retries must be bounded"
    assert b["total_limit_size"]
    assert b["overflow_action"] == "block"


def test_exhausted_and_refused_records_are_kept(conf: ParsedConf, es_store: Directive) -> None:
    (secondary,) = es_store.find("secondary")
    assert secondary.params["@type"] == "secondary_file"
    (error_label,) = [label for label in conf.find("label") if label.arg == "@ERROR"]
    (sink,) = error_label.find("match")
    assert sink.params["@type"] == "file"


def test_a_copy_goes_to_stdout_for_the_instructor(prediction_match: Directive) -> None:
    stdout = [s for s in prediction_match.find("store") if s.params["@type"] == "stdout"]
    assert len(stdout) == 1
    assert "ignore_error" in stdout[0].arg.split()


def test_the_image_uses_this_file() -> None:
    dockerfile = (Path(FLUENT_CONF).parent / "Dockerfile").read_text()
    assert "COPY fluent.conf /fluentd/etc/fluent.conf" in dockerfile
    assert "fluentd --dry-run -c /fluentd/etc/fluent.conf" in dockerfile


def test_notebook_03_explains_only_what_fluent_conf_sets() -> None:
    """Notebook 03's table of fluent.conf must stay as true as the file's comments."""
    notebook = (ROOT / "notebooks" / "03_registrar_eventos.ipynb").read_text()
    conf = parse_fluent_conf()
    keys = {key for d in conf.walk() for key in d.params}
    for removed in ("time_key", "suppress_type_name"):
        assert removed not in keys and removed not in notebook, removed
    assert "48 minutos" in notebook and "fluent-binlog-reader" in notebook
