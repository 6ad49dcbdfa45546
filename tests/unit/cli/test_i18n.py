"""workshop.cli._i18n: Click's and Typer's own words in pt-BR (issue 13)."""

from __future__ import annotations

from workshop.cli import _i18n


def test_known_phrases_are_translated_and_the_rest_passes_through() -> None:
    assert _i18n.translate("Usage:") == "Uso:"
    assert _i18n.translate("Show this message and exit.") == "Mostra esta ajuda e sai."
    assert _i18n.translate("[default: {}]").format(5) == "[padrão: 5]"
    assert _i18n.translate("something new") == "something new"


def test_install_is_idempotent_and_patches_the_usage_prefix() -> None:
    from typer._click import formatting

    _i18n.install()
    _i18n.install()
    formatter = formatting.HelpFormatter()
    formatter.write_usage("workshop", "[OPTIONS] COMMAND [ARGS]...")
    assert formatter.getvalue().strip() == "Uso: workshop [OPÇÕES] COMANDO [ARGUMENTOS]..."
