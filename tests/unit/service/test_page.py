"""Unit tests of workshop.service.page: the form page comes from the Jinja2 template, escaped."""

from __future__ import annotations

from pathlib import Path

from workshop.service import page


def test_page_is_rendered_from_the_template_with_its_stylesheet() -> None:
    html = page.render_page(model_version="v1")
    assert (page.TEMPLATES_DIR / "form.html").is_file()
    assert '<link rel="stylesheet" href="/static/form.css">' in html
    assert "<style>" not in html  # the CSS lives in static/, not in the page
    assert 'id="versao-atual">v1<' in html
    assert 'id="sem-modelo"' not in html


def test_every_request_value_is_escaped() -> None:
    probe = '"><script>alert(1)</script>'
    html = page.render_page(
        day=probe,
        item_nbr=probe,
        error=probe,
        model_version=probe,
    )
    assert "<script>" not in html
    assert "&lt;script&gt;" in html and "&#34;&gt;" in html


def test_result_shows_the_prediction_in_pt_br_and_every_field() -> None:
    result = {
        "prediction": 12345.678,
        "product": "Leite <integral>",
        "item_nbr": "103520",
        "date": "2025-03-01",
        "onpromotion": True,
        "model_version": "v2",
        "prediction_id": "0b8e6a52-3c1f-4e8e-9c53-3f0f2f2d8a11",
    }
    html = page.render_page(result=result, model_version="v2")
    assert 'id="prediction">12.345,7<' in html
    assert "Leite &lt;integral&gt; (103520)" in html
    assert "<dd>sim</dd>" in html
    assert result["prediction_id"] in html


_RESULT = {
    "prediction": 183.16,
    "product": "Leite integral 1L",
    "item_nbr": "103520",
    "date": "2026-01-15",
    "onpromotion": False,
    "model_version": "v1",
    "prediction_id": "0b8e6a52-3c1f-4e8e-9c53-3f0f2f2d8a11",
}


def test_result_says_where_its_event_is_without_kibana() -> None:
    # Issue 13: "Guarde esse ID" led nowhere; the result names the command that finds it.
    html = page.render_page(result=_RESULT, model_version="v1")
    assert f"workshop events show {_RESULT['prediction_id']}" in html
    assert 'id="data">15/01/2026<' in html  # pt-BR date (Babel), not ISO
    assert 'id="link-evento"' not in html


def test_result_links_to_its_event_in_discover_when_kibana_is_up() -> None:
    link = "http://localhost:5601/app/discover#/?_a=(query:x)"
    html = page.render_page(result=_RESULT, model_version="v1", event_url=link)
    assert 'id="link-evento" href="http://localhost:5601/app/discover#/?_a=(query:x)"' in html


def test_no_model_banner_when_nothing_is_in_production() -> None:
    html = page.render_page(model_version=None)
    assert 'id="sem-modelo"' in html
    assert 'id="versao-atual">nenhum<' in html


def test_phone_layout_rule_comes_last_in_the_stylesheet() -> None:
    # A rule after the media query would override it (the 375 px form kept two columns).
    css = Path(page.STATIC_DIR / "form.css").read_text(encoding="utf-8")
    media = css.index("@media (max-width: 32rem)")
    depth, end = 0, None
    for position in range(css.index("{", media), len(css)):
        depth += {"{": 1, "}": -1}.get(css[position], 0)
        if depth == 0:
            end = position
            break
    assert end is not None and css[end + 1 :].strip() == ""
