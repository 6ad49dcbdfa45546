"""Settings from ``WORKSHOP_*`` environment variables: the one place that reads them.

Every other module calls :func:`get_settings` (or receives a :class:`Settings`) instead of reading
``os.environ``. ``.env.example`` documents each variable in pt-BR.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workshop.errors import ConfigError


class EventTransport(StrEnum):
    """Where prediction events go."""

    ELASTICSEARCH = "elasticsearch"  # bulk API straight into model-YYYY.MM.DD (embedded stack, CI)
    FLUENTD = "fluentd"  # forward protocol to Fluentd, which writes to Elasticsearch (Docker)
    JSONL = "jsonl"  # a local JSON-lines file (offline exercises)


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"URL inválida: {value!r} (use algo como http://localhost:9200)")
    return value.rstrip("/")


class Settings(BaseSettings):
    """All settings of the kit. Field ``foo`` is read from ``WORKSHOP_FOO``."""

    model_config = SettingsConfigDict(env_prefix="WORKSHOP_", extra="ignore", frozen=True)

    es_url: str = "http://localhost:9200"
    kibana_url: str = "http://localhost:5601"
    service_url: str = "http://localhost:11000"
    fluentd_host: str = "localhost"
    fluentd_port: int = Field(default=24224, ge=1, le=65535)
    service_host: str = "127.0.0.1"
    service_port: int = Field(default=11000, ge=1, le=65535)
    home: Path = Path(".workshop")
    event_transport: EventTransport = EventTransport.ELASTICSEARCH
    event_tag: str = "model.prediction"
    # The write-ahead journal of events (spool/journal-*): its bound on disk, how often it is
    # fsynced (what a machine crash can lose), and when /health calls the logger degraded.
    event_journal_max_mb: int = Field(default=256, ge=1, le=1 << 20)
    event_fsync_interval_ms: int = Field(default=100, ge=1, le=60_000)
    event_health_queue: int = Field(default=5000, ge=1)  # above a forming batch (FULL_BATCH)
    event_health_stale_s: float = Field(default=5.0, gt=0)
    index_prefix: str = "model"
    # "auto" probes the server; "embedded" / "elasticsearch" force the client flavour.
    es_engine: str = Field(default="auto", pattern="^(auto|embedded|elasticsearch)$")
    jupyter_url: str = "http://localhost:8888"
    # Kibana as the participant's browser reaches it (Discover links); empty = kibana_url. In the
    # Docker stack the notebooks reach http://kibana:5601 but the browser http://localhost:5601.
    kibana_public_url: str = ""
    # The model service as the participant's browser reaches it (form links); empty = service_url.
    # In the Docker stack the notebooks reach http://model:11000, the browser http://localhost:11000.
    service_public_url: str = ""
    # Fail instead of falling back when Kibana is not usable (notebook 05; the workflow's stack job
    # sets it, so a run can never go green without Kibana importing anything).
    require_kibana: bool = False
    # Fluentd's rejected/ directory (documents Elasticsearch refused on the Fluentd path), mounted
    # read-only from the fluentd-buffer volume in the Docker stack; empty = not visible here.
    # `workshop doctor` counts its lines next to spool/rejected.jsonl (the direct path).
    fluentd_rejected_dir: str = ""

    @field_validator("es_url", "kibana_url", "service_url", "jupyter_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        return _check_http_url(value)

    @field_validator("kibana_public_url", "service_public_url")
    @classmethod
    def _optional_url(cls, value: str) -> str:
        return _check_http_url(value) if value else ""

    @property
    def kibana_browser_url(self) -> str:
        """Where links for the participant's browser point (WORKSHOP_KIBANA_PUBLIC_URL)."""
        return self.kibana_public_url or self.kibana_url

    @property
    def service_browser_url(self) -> str:
        """Where links to the prediction form point (WORKSHOP_SERVICE_PUBLIC_URL)."""
        return self.service_public_url or self.service_url

    # Paths derived from WORKSHOP_HOME, so every module agrees on the layout.
    @property
    def home_dir(self) -> Path:
        """WORKSHOP_HOME; a relative path is taken from the repository root, so the CLI (run
        from the root) and the notebooks (run from notebooks/) share one registry."""
        home = self.home.expanduser()
        return (home if home.is_absolute() else project_root() / home).resolve()

    @property
    def run_dir(self) -> Path:
        return self.home_dir / "run"

    @property
    def models_dir(self) -> Path:
        return self.home_dir / "models"

    @property
    def spool_dir(self) -> Path:
        return self.home_dir / "spool"

    @property
    def data_dir(self) -> Path:
        return self.home_dir / "data"

    @property
    def fluentd_rejected_path(self) -> Path | None:
        """WORKSHOP_FLUENTD_REJECTED_DIR as a path, ``None`` when unset."""
        return Path(self.fluentd_rejected_dir).expanduser() if self.fluentd_rejected_dir else None

    @property
    def index_pattern(self) -> str:
        return f"{self.index_prefix}-*"


def project_root() -> Path:
    """The repository root (where notebooks/ and infra/ live)."""
    return Path(__file__).resolve().parent.parent


def get_settings(**overrides: object) -> Settings:
    """Read settings from the environment; invalid values raise a pt-BR :class:`ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"WORKSHOP_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"Configuração inválida — {problems}") from None
