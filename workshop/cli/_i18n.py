"""pt-BR for the command line's own words: Click's help ("Usage:", "Options", "Show this message
and exit.") and parser messages, which Typer takes from ``gettext`` with no catalogue shipped.

:func:`install` points the ``_`` of Typer's and its Click's modules at :func:`translate`: a fixed
table (the strings are Click's and Typer's own, listed in their source), English passed through
for anything not in it. Issue 13: ``workshop --help`` was English inside a pt-BR kit.
"""

from __future__ import annotations

import importlib

MESSAGES: dict[str, str] = {
    "Usage:": "Uso:",
    "Options": "Opções",
    "Commands": "Comandos",
    "Arguments": "Argumentos",
    "Positional arguments": "Argumentos",
    "Show this message and exit.": "Mostra esta ajuda e sai.",
    "Show the version and exit.": "Mostra a versão e sai.",
    "default: {default}": "padrão: {default}",
    "[default: {}]": "[padrão: {}]",
    "required": "obrigatório",
    "[required]": "[obrigatório]",
    "env var: {var}": "variável de ambiente: {var}",
    "[env var: {}]": "[variável de ambiente: {}]",
    "(dynamic)": "(dinâmico)",
    "deprecated": "obsoleto",
    "(deprecated) ": "(obsoleto) ",
    "Aborted!": "Interrompido.",
    "Aborted.": "Interrompido.",
    "Error": "Erro",
    "Error: {message}": "Erro: {message}",
    "Missing command.": "Falta o comando.",
    "Missing argument": "Falta o argumento",
    "Missing option": "Falta a opção",
    "Missing parameter": "Falta o parâmetro",
    "Missing parameter: {param_name}": "Falta o parâmetro: {param_name}",
    "No such command {name!r}.": "Comando desconhecido: {name!r}.",
    "No such option {name!r}.": "Opção desconhecida: {name!r}.",
    "Option {name!r} does not take a value.": "A opção {name!r} não recebe valor.",
    "Try '{command} {option}' for help.": "Veja '{command} {option}'.",
    "Invalid value for {param_hint}: {message}": "Valor inválido para {param_hint}: {message}",
    "Invalid value: {message}": "Valor inválido: {message}",
    "{value!r} is not a valid {number_type}.": "{value!r} não é um {number_type} válido.",
    "{value} is not in the range {range}.": "{value} está fora do intervalo {range}.",
    "{value!r} is not a valid UUID.": "{value!r} não é um UUID válido.",
    "Choose from:\n\t{choices}": "Escolha entre:\n\t{choices}",
    "integer": "inteiro",
    "float": "número",
}

_MODULES = (
    "typer.core",
    "typer.rich_utils",
    "typer._click.core",
    "typer._click.decorators",
    "typer._click.exceptions",
    "typer._click.formatting",
    "typer._click.parser",
    "typer._click.types",
    "typer._click.termui",
)


def translate(message: str) -> str:
    return MESSAGES.get(message, message)


_HELP = "Mostra esta ajuda e sai."
# The usage line's metavars, literals in Typer's Command and Group (not through ``_``).
_USAGE_WORDS = (("[OPTIONS]", "[OPÇÕES]"), ("COMMAND [ARGS]...", "COMANDO [ARGUMENTOS]..."))


def _patch_literals() -> None:
    """The two phrases Typer's Click writes as literals, not through ``_``: the usage prefix and
    the ``--help`` option's text."""
    try:
        from typer._click import decorators, formatting
    except ImportError:  # pragma: no cover - older Typer on plain Click (uses gettext for both)
        return
    if getattr(formatting.HelpFormatter.write_usage, "_pt_br", False):
        return
    write_usage = formatting.HelpFormatter.write_usage

    def usage_pt(self: object, prog: str, args: str = "", prefix: str | None = None) -> None:
        for english, portuguese in _USAGE_WORDS:
            args = args.replace(english, portuguese)
        write_usage(self, prog, args, "Uso: " if prefix is None else prefix)  # type: ignore[arg-type]

    usage_pt._pt_br = True  # type: ignore[attr-defined]
    formatting.HelpFormatter.write_usage = usage_pt  # type: ignore[method-assign]
    help_option = decorators.help_option

    def help_option_pt(param_decls: list[str]) -> object:
        apply = help_option(param_decls)

        def decorate(command: object) -> object:
            result = apply(command)
            command.params[-1].help = _HELP  # type: ignore[attr-defined]
            return result

        return decorate

    decorators.help_option = help_option_pt  # type: ignore[assignment]


def install() -> None:
    """Translate from now on (idempotent; a module missing in this Typer version is skipped)."""
    _patch_literals()
    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if callable(getattr(module, "_", None)):
            module._ = translate  # type: ignore[attr-defined]
