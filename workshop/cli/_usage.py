"""pt-BR messages for command-line usage errors (bad option values, unknown options/commands).

Typer's parser only speaks English; participants get a pt-BR sentence saying what is wrong and
where to look; the parser's reason for a bad value is translated when it is a known one.
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


# The parser's (English) reason for a bad value → pt-BR. Typer validates option values with
# pydantic, Click with its own types; anything not listed here is left out rather than shown in
# English (issue 13: "(detalhe: Input should be greater than or equal to 1)").
_REASONS: tuple[tuple[str, str], ...] = (
    (r"greater than or equal to (\S+?)\.?$", "o valor deve ser pelo menos {0}"),
    (r"greater than (\S+?)\.?$", "o valor deve ser maior que {0}"),
    (r"less than or equal to (\S+?)\.?$", "o valor deve ser no máximo {0}"),
    (r"less than (\S+?)\.?$", "o valor deve ser menor que {0}"),
    (r"valid integer|is not a valid integer", "use um número inteiro"),
    (r"valid number|is not a valid float", "use um número"),
    (r"valid boolean", "use true ou false"),
    (r"is not one of (.+?)\.?$", "escolha entre {0}"),
    (r"is not in the range (.+?)\.?$", "o valor deve estar em {0}"),
)


def _reason(message: str) -> str | None:
    for pattern, text in _REASONS:
        if match := re.search(pattern, message):
            return text.format(*match.groups())
    return None


def usage_message(error: UsageError) -> str:
    """The pt-BR text for a usage error (without the ``Erro:`` prefix)."""
    command = error.ctx.command_path if error.ctx is not None else "workshop"
    if error.message.startswith(("Usage:", "Uso:")):  # a group without a command: its help
        return error.message
    reason: str | None = None
    if isinstance(error, MissingParameter):
        what = f"falta {_hint(error)}"
    elif isinstance(error, BadParameter):
        what = f"valor inválido para {_hint(error)}"
        reason = _reason(error.message)
    elif isinstance(error, NoSuchOption):
        what = f"opção desconhecida: {error.option_name}"
    elif match := re.match(r"(?:No such command|Comando desconhecido:) ?'([^']+)'", error.message):
        what = f"comando desconhecido: {match.group(1)}"
        if guess := re.search(r"Did you mean (.+)\?", error.message):
            # Issue 13: "Comando desconhecido: taill'. did you mean 'tail" (half-parsed English)
            what += f". Você quis dizer {guess.group(1)}?"
    elif extra := re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", error.message):
        what = f"argumentos a mais: {extra.group(1)}"
    elif error.message in ("Missing command.", "Falta o comando."):
        what = "falta o comando"
    else:
        what = "uso inválido"
    what = what[0].upper() + what[1:]
    if reason is not None:
        what += f": {reason}"
    if what.endswith("?"):
        return f"{what} Veja `{command} --help`."
    return f"{what}. Veja `{command} --help`."
