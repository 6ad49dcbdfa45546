"""The scanner of notebook outputs (participant_text): lines of the 2026-12-01 demo run that
bypassed workshop.formatting are caught, the raw documents shown on purpose are not."""

from __future__ import annotations

import pytest

from tests.notebooks.participant_text import offenders, output_texts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NWRMSLE = 0.8880\n", ["0.8880"]),
        ("dias com promoção: 14.1%\n", ["14.1"]),
        ("7 famílias, de 2024-01-01 a 2025-12-31\n", ["2024-01-01", "2025-12-31"]),
        ("Enviadas 500 requisições a http://localhost:11000 em 0.8 s (626 req/s)", ["0.8"]),
        ("Latência (ms): {'50.0': 0.08, '95.0': 0.132, '99.0': 0.264}", ["50.0", "0.08"]),
        (
            "  versão                  criado em  NWRMSLE\n"
            "0     v1  2026-12-01T11:56:39+00:00    0.334",
            ["0.334", "2026-12-01"],
        ),
        (
            "0 2026-12-01 11:56:57.711846+00:00       Sabão em pó 1kg",
            ["11:56:57.711846", "2026-12-01"],
        ),
        ("Treinadas até: {'v1': '2025-12-31', 'v2': '2026-02-08'} · janela: 2026-02-09", None),
        ("Correção: -0.30", ["0.30"]),
        ("previsão 183.162509", ["183.162509"]),
    ],
)
def test_figures_that_bypassed_formatting_are_caught(text: str, expected: list[str] | None) -> None:
    found = offenders(text)
    if expected is None:
        assert found, text
    else:
        for figure in expected:
            assert figure in found, (figure, found)


@pytest.mark.parametrize(
    "text",
    [
        # pt-BR figures
        "Latência do modelo (ms): p50 0,08 · p95 0,14 · p99 0,30 · máx 4,92\nEventos: 2.400",
        "Janela: 01/12/2026 11:56:57 → 01/12/2026 11:57:09 UTC",
        "15.351 linhas = 731 dias × 21 produtos; total 1.234.567",
        # a JSON document and Query DSL, shown as stored or sent
        '_index: model-2026.12.01\n{\n  "@timestamp": "2026-12-01T11:56:51.111596Z",\n'
        '  "prediction": 69.97184225960739\n}\n',
        'Query DSL equivalente: {"bool": {"filter": [{"range": {"@timestamp": '
        '{"gte": "now-1h"}}}]}}\nResposta esperada: 375 predições',
        # the API's answer as Python shows it, whole
        "{'prediction': 303.6547433543379,\n 'date': '2026-01-16'}",
        # URLs, index names, versions, addresses, files
        "http://localhost:5601/app/discover#/?_g=(time:(from:'2026-12-01T11:42:16.571Z'))",
        "✓  Elasticsearch  http://localhost:9200  motor embutido 3.8.0",
        "HTTPConnection(host='127.0.0.1', port=35121)",
        "journal-20261201T115653-af940d84/seg-0000000001.jsonl: 100 linhas",
        # the participant's own input, echoed in an error
        "Erro esperado: Data inexistente: '2026-02-30' (confira dia e mês).",
    ],
)
def test_pt_br_text_and_raw_documents_pass(text: str) -> None:
    assert offenders(text) == []


def test_a_json_document_does_not_hide_the_text_around_it() -> None:
    assert offenders('{"a": 1}\nNWRMSLE do modelo: 0.334') == ["0.334"]


def test_rich_outputs_are_read_from_their_plain_text() -> None:
    table = {"output_type": "execute_result", "data": {"text/plain": ["a  0.5\n", "b  0.25"]}}
    assert output_texts(table) == ["a  0.5\nb  0.25"]
    assert output_texts({"output_type": "stream", "name": "stdout", "text": "x"}) == ["x"]
    assert output_texts({"output_type": "display_data", "data": {"image/png": "…"}}) == []
