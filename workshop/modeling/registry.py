"""Model registry on disk: ``$WORKSHOP_HOME/models/<version>/{model.joblib, card.json}``.

Versions are ``v1``, ``v2``, … (monotonic; a new directory is claimed with ``mkdir`` so two
trainings at once never share a number). A version is complete once its ``card.json`` exists
(written last). ``$WORKSHOP_HOME/models/production`` is a small JSON pointer
(``{"version": "v2", "promoted_at": …}``) replaced atomically (temp file + ``os.replace``),
because the model service polls it and must never read half a file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from workshop.config import Settings, get_settings
from workshop.errors import InvalidInputError, ModelNotFoundError

MODEL_FILE = "model.joblib"
CARD_FILE = "card.json"
PRODUCTION_FILE = "production"
_VERSION = re.compile(r"^v([1-9]\d*)$")
NO_MODEL_MESSAGE = "Nenhum modelo treinado — execute o notebook 01 ou `workshop train`"


def version_number(version: str) -> int:
    """``"v12"`` → 12; anything else raises :class:`InvalidInputError`."""
    match = _VERSION.match(str(version).strip())
    if not match:
        raise InvalidInputError(f"Versão inválida: {version!r} (use algo como v1, v2…).")
    return int(match.group(1))


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Registry:
    """The versions under ``settings.models_dir`` and the production pointer."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.root: Path = self.settings.models_dir

    # ----------------------------------------------------------------- reading
    @property
    def production_path(self) -> Path:
        """The pointer file (the service may watch its modification time)."""
        return self.root / PRODUCTION_FILE

    def path(self, version: str) -> Path:
        return self.root / f"v{version_number(version)}"

    def versions(self) -> list[str]:
        """Complete versions, oldest first."""
        if not self.root.is_dir():
            return []
        found = [
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and _VERSION.match(p.name) and (p / CARD_FILE).is_file()
        ]
        return sorted(found, key=version_number)

    def _require(self, version: str) -> Path:
        path = self.path(version)
        if not (path / CARD_FILE).is_file():
            available = ", ".join(self.versions()) or "nenhuma"
            raise ModelNotFoundError(
                f"Versão de modelo não encontrada: {version} (disponíveis: {available})."
            )
        return path

    def card(self, version: str) -> dict[str, Any]:
        """The model card (``card.json``) of a version."""
        path = self._require(version)
        return json.loads((path / CARD_FILE).read_text(encoding="utf-8"))

    def production_version(self) -> str | None:
        """The promoted version, or None (nothing promoted, or the pointer is unreadable)."""
        try:
            data = json.loads(self.production_path.read_text(encoding="utf-8"))
            version = str(data["version"])
            version_number(version)
        except (OSError, ValueError, KeyError, TypeError, InvalidInputError):
            return None
        return version if (self.root / version / CARD_FILE).is_file() else None

    def latest_version(self) -> str | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def load(self, version: str) -> Any:
        """The fitted pipeline of a version."""
        path = self._require(version)
        return joblib.load(path / MODEL_FILE)

    # ----------------------------------------------------------------- writing
    def register(self, model: Any, card: dict[str, Any]) -> str:
        """Store a fitted model and its card under the next free version; return the version."""
        self.root.mkdir(parents=True, exist_ok=True)
        number = max((version_number(v) for v in self._claimed()), default=0) + 1
        while True:
            path = self.root / f"v{number}"
            try:
                path.mkdir()
                break
            except FileExistsError:
                number += 1
        version = path.name
        tmp = path / f".{MODEL_FILE}.tmp"
        joblib.dump(model, tmp)
        os.replace(tmp, path / MODEL_FILE)
        card = {"version": version, **{k: v for k, v in card.items() if k != "version"}}
        atomic_write_text(path / CARD_FILE, json.dumps(card, ensure_ascii=False, indent=2))
        return version

    def _claimed(self) -> list[str]:
        return [p.name for p in self.root.iterdir() if p.is_dir() and _VERSION.match(p.name)]

    def promote(self, version: str) -> dict[str, Any]:
        """Point production at ``version`` (atomically); return the pointer content."""
        self._require(version)
        pointer = {"version": version, "promoted_at": datetime.now(UTC).isoformat()}
        atomic_write_text(self.production_path, json.dumps(pointer) + "\n")
        return pointer

    # Defined last: inside the class body the name shadows the builtin ``list``.
    def list(self) -> list[dict[str, Any]]:
        """The cards of all versions, oldest first."""
        return [self.card(v) for v in self.versions()]
