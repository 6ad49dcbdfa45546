"""pt-BR messages for command-line usage errors (bad option values, unknown options/commands).

Typer's parser only speaks English; participants get a pt-BR sentence saying what is wrong and
where to look, with the parser's own text kept as a detail.
"""

from __future__ import annotations

import re

try:  # typer >= 0.29 vendors click
    from typer._click.exceptions import BadParameter, MissingParameter, NoSuchOption, UsageError
except ImportError:  # older typer runs on click itself
    from click.exceptions import (  # type: ignore[no-redef]
        BadParameter,
        MissingParameter,
        NoSuchOption,
        UsageError,
    )

__all__ = ["UsageError", "usage_message"]


def _hint(error: BadParameter) -> str:
    if error.param_hint is not None:
        hints = [error.param_hint] if isinstance(error.param_hint, str) else error.param_hint
        return " / ".join(hints)
    if error.param is not None:
        return str(error.param.get_error_hint())
    return "um dos argumentos"


def usage_message(error: UsageError) -> str:
    """The pt-BR text for a usage error (without the ``Erro:`` prefix)."""
    command = error.ctx.command_path if error.ctx is not None else "workshop"
    if error.message.startswith(("Usage:", "Uso:")):  # a group without a command: its help
        return error.message
    if isinstance(error, MissingParameter):
        what = f"falta {_hint(error)}"
    elif isinstance(error, BadParameter):
        what = f"valor inválido para {_hint(error)}"
    elif isinstance(error, NoSuchOption):
        what = f"opção desconhecida: {error.option_name}"
    elif match := re.match(r"(?:No such command|Comando desconhecido:) ?'([^']+)'", error.message):
        what = f"comando desconhecido: {match.group(1)}"
        if guess := re.search(r"Did you mean (.+)\?", error.message):
            # Issue 13: "Comando desconhecido: taill'. did you mean 'tail" (half-parsed English)
            what += f". Você quis dizer {guess.group(1)}?"
    elif error.message.startswith("Got unexpected extra argument"):
        what = "argumentos a mais"
    elif error.message in ("Missing command.", "Falta o comando."):
        what = "falta o comando"
    else:
        what = "uso inválido"
    what = what[0].upper() + what[1:]
    if what.endswith("?"):
        return f"{what} Veja `{command} --help`."
    return f"{what}. Veja `{command} --help`.\n  (detalhe: {error.format_message()})"
