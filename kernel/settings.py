"""One typed settings object for every Lodestone process (``LODESTONE_`` environment prefix)."""

from __future__ import annotations

import os
from enum import Enum, StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.secret_file import (
    MIN_ENTROPY_BITS,
    dev_master_key,
    dev_secret,
    entropy_bits,
    parse_master_key,
)

#: Refused everywhere (the last one was the development default before issue #18).
PLACEHOLDER_SECRETS = frozenset({"change-me", "changeme", "secret", "dev-secret-change-me"})


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class SettingsError(RuntimeError):
    """A setting has a wrong value; the message names the variable and what it expects."""


class Settings(BaseSettings):
    """Lodestone configuration. Every field is read from ``LODESTONE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="LODESTONE_", extra="ignore", frozen=True)

    env: Environment = Field(
        Environment.development, description="development | test | production"
    )
    data_dir: Path = Field(
        Path(".lodestone"),
        description="Directory for the embedded lake, the spool, salts and the SQLite file.",
    )
    warehouse_url: str = Field(
        "lake",
        description=(
            "'lake' (embedded Parquet lake queried by chDB), 'chdb:///abs/dir' (a chDB data "
            "directory, one process only) or 'http(s)://user:password@host:8123/database' "
            "(a ClickHouse server)."
        ),
    )
    metadata_url: str = Field(
        "",
        description=(
            "SQLAlchemy URL of the metadata database; empty means a SQLite file in data_dir. "
            "Production: postgresql+psycopg://user@host:5432/db"
        ),
    )
    secret_key: str = Field(
        "",
        description=("Signs sessions, derives visitor-id salts. Required outside development "
                     "(production: >= 32 random bytes' worth of entropy); in development, empty means a "
                     "random secret kept in <data_dir>/secret_key."),
    )
    master_key: str = Field(
        "",
        description=("Encrypts the leads' personal data (wraps each organization's data key): "
                     "32 random bytes in base64. Required in production; losing it loses that "
                     "data (docs/security.md). In development and test, empty means a random "
                     "key kept in <data_dir>/master_key."),
    )
    master_keys_old: str = Field(
        "", description=("Comma-separated previous master keys (base64), still accepted to "
                         "unwrap data keys until `lodestone keys rotate` has re-wrapped them."),
    )
    pii_policy: str = Field(
        "redact", pattern=r"^(redact|refuse|off)$",
        description=("Personal data (emails, phones, cards, national ids, IPs) found in event "
                     "props, form answers and AI prompts: redact, refuse or off; the default for "
                     "organizations without their own (PUT /v1/privacy/pii-policy)."),
    )
    redis_url: str = Field("", description="Optional redis:// URL for shared rate limits.")
    api_url: str = Field(
        "http://127.0.0.1:8000", description="Base URL of the API, used by the dashboards."
    )
    dashboard_api_key: str = Field(
        "", description="API key the dashboards use without a sign-in (kiosk); empty: people sign in."
    )
    api_host: str = Field("127.0.0.1", description="Interface the API and collector bind to.")
    metrics_token: str = Field(
        "", description="Bearer token required on /metrics. Empty: only loopback clients may "
        "scrape, and `serve` refuses a non-loopback address in production.")
    otel_endpoint: str = Field(
        "", description="OTLP/HTTP endpoint for OpenTelemetry traces (e.g. "
        "http://127.0.0.1:4318); empty = tracing off.")
    api_port: int = Field(8000, ge=1, le=65535, description="Port of the API and collector.")
    dagster_port: int = Field(3000, ge=1, le=65535, description="Port of the Dagster webserver.")
    dashboard_port: int = Field(8501, ge=1, le=65535, description="Port of the Streamlit dashboards.")
    spool_commit_ms: float = Field(
        0.0, ge=0, le=1000,
        description="Extra wait before a group commit that follows an idle spell, milliseconds.",
    )
    spool_segment_bytes: int = Field(
        4 * 1024 * 1024, ge=4096, description="Spool segment size before it is sealed."
    )
    spool_seal_ms: float = Field(
        250.0, gt=0, description="A non-empty spool segment is sealed after this many ms."
    )
    spool_quota_bytes: int = Field(
        2 * 1024**3, ge=1024 * 1024, description="Disk quota of the spool; beyond it: 503."
    )
    rate_limit_ip_rps: float = Field(50.0, ge=0, description="Collector requests/s per client IP; 0 = off.")
    rate_limit_ip_burst: float = Field(200.0, ge=0, description="Burst allowance per client IP.")
    rate_limit_org_eps: float = Field(20_000.0, ge=0, description="Collector events/s per organization.")
    rate_limit_org_burst: float = Field(200_000.0, ge=0, description="Burst allowance per organization.")
    ship_interval_ms: float = Field(200.0, gt=0, description="How often the shipper looks for sealed segments.")
    config_max_age_s: float = Field(60.0, ge=0, description="Browser cache lifetime of the snippet's config.")
    api_rate_limit_per_minute: int = Field(
        1200, ge=0, description="Requests per minute per API key or user; 0 = no limit."
    )
    api_max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Largest JSON body.")
    api_upload_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest CSV upload.")
    api_login_max_failures: int = Field(5, ge=1, description="Failed sign-ins per account ...")
    api_login_max_failures_per_ip: int = Field(
        30, ge=0, description="Failed sign-ins per client IP (any account) ...; 0 = no limit.")
    api_login_window_s: int = Field(900, ge=1, description="... within this window, then 429.")
    api_session_ttl_s: int = Field(43200, ge=60, description="Lifetime of a session cookie.")
    api_token_ttl_s: int = Field(3600, ge=60, description="Lifetime of a dashboard bearer token.")
    webhooks_worker: bool = Field(True, description="Deliver webhooks from the API process.")
    webhooks_retention_days: int = Field(
        30, ge=1, description="Days finished webhook deliveries and their events are kept."
    )
    webhooks_allow_private: bool = Field(
        False, description="Allow webhook targets on loopback/private networks (development)."
    )
    public_url: str = Field(
        "", description="Base URL of landing pages and mail links; empty = the request's own."
    )
    smtp_url: str = Field(
        "", description="smtp://user:pass@host:port or smtps://…; empty = mail to a folder."
    )
    mail_from: str = Field("Lodestone <no-reply@localhost>", description="From of every mail.")
    mail_worker: bool = Field(True, description="Send queued mail from the API process.")
    dkim_selector: str = Field("", description="DKIM selector (with dkim_key_file).")
    dkim_key_file: str = Field("", description="PEM RSA private key for DKIM signing.")
    mail_max_attempts: int = Field(8, ge=1, description="Tries before a mail is given up.")
    mail_per_minute: int = Field(
        600, ge=1, description="Mails sent per minute per organization (throttle)."
    )
    optin_min_fill_s: float = Field(
        2.0, ge=0, description="An opt-in form submitted sooner after loading is refused."
    )
    optin_per_minute: int = Field(
        10, ge=0, description="Opt-in posts per minute per client IP (0 = no limit)."
    )
    confirm_link_ttl_hours: int = Field(72, ge=1, description="Lifetime of a confirm link.")
    download_link_ttl_hours: int = Field(24, ge=1, description="Lifetime of a download link.")
    openai_base_url: str = Field(
        "", description="OpenAI-compatible endpoint for AI drafts; empty = offline generator."
    )
    openai_api_key: str = Field("", description="API key for openai_base_url.")
    openai_model: str = Field("gpt-4o-mini", description="Model name for AI drafts.")
    openai_timeout_s: float = Field(60.0, gt=0, description="Timeout of one model request.")
    openai_max_retries: int = Field(
        4, ge=0, le=10, description="Retries of a model request answered 429/5xx or timed out."
    )
    openai_max_retry_wait_s: float = Field(
        60.0, ge=0, description="Longest wait between retries, Retry-After included."
    )
    openai_stream: bool = Field(False, description="Stream model answers (SSE).")
    ai_validation_retries: int = Field(
        2, ge=0, le=5, description="Re-asks after a schema-invalid answer, error fed back."
    )
    ai_request_token_budget: int = Field(
        24_000, ge=1000, description="Most tokens (prompt + answer) one model request may use."
    )
    ai_monthly_token_budget: int = Field(
        2_000_000, ge=0, description="Tokens per organization per calendar month (UTC); 0 = none."
    )
    quality_max_similarity: float = Field(
        0.6, gt=0, le=1, description="Highest MinHash similarity to another magnet or draft."
    )
    quality_recent_generations: int = Field(
        200, ge=0, description="How many recent AI generations the uniqueness check reads."
    )
    quality_grade_general: float = Field(9.0, gt=0, description="Max grade, general readers.")
    quality_grade_professional: float = Field(
        12.0, gt=0, description="Max grade, professional readers."
    )
    quality_grade_expert: float = Field(14.0, gt=0, description="Max grade, expert readers.")
    quality_link_allowlist: str = Field(
        "", description="Comma-separated domains links may point to; empty = any domain."
    )
    quality_max_unsupported_claims: int = Field(
        0, ge=0, description="Unsupported factual statements allowed before publishing."
    )
    quality_min_claim_support: float = Field(
        0.6, gt=0, le=1, description="Share of a claim's words a passage must contain."
    )
    knowledge_max_bytes: int = Field(
        20 * 1024 * 1024, ge=1024, description="Largest knowledge-base upload."
    )
    refresh_interval_s: int = Field(
        60, ge=1, le=240,
        description="How often Dagster looks for new events and refreshes daily_magnet_metrics "
        "(seconds); with a run's duration this keeps the API's numbers under 5 minutes old.",
    )
    rollup_lag_s: int = Field(
        300, ge=0, le=86_400,
        description="Events the collector acknowledged this long before an Overview roll-up "
        "run are taken as shipped: the roll-up holds them, the API reads later ones raw.",
    )
    partitions_start: str = Field(
        "", pattern=r"^(\d{4}-\d{2}-\d{2})?$",
        description="First daily partition (YYYY-MM-DD); empty = the first day with events, "
        "remembered in data_dir/partitions_start.",
    )
    dagster_max_concurrent_runs: int = Field(
        2, ge=1, description="Dagster runs at once (at most one heavy analytics run among them).",
    )

    jobs_worker: bool = Field(
        True, description="Run durable jobs (builds, AI drafts) in the API process too."
    )
    jobs_concurrency: int = Field(1, ge=1, le=16, description="Jobs one worker runs at once.")
    jobs_lease_s: float = Field(
        60.0, ge=0.5,
        description="A running job's lease; a worker renews it every third of it, and when a "
        "worker dies another one takes the job over after it expires.",
    )
    jobs_poll_s: float = Field(1.0, gt=0, description="How often an idle worker looks for jobs.")
    jobs_max_attempts: int = Field(
        3, ge=1, le=20, description="Attempts of a job (worker deaths count) before it fails."
    )
    artifacts_url: str = Field(
        "",
        description="fsspec URL of the artifact store, e.g. s3://bucket/prefix (S3-compatible "
        "options through fsspec's own config); empty = data_dir/artifacts.",
    )

    privacy_export_ttl_hours: int = Field(
        72, ge=1, description="An export archive can be downloaded (once) for this long.")
    privacy_cleanup_wait_s: float = Field(
        120.0, ge=0, description="How long an erasure waits for ClickHouse to delete the "
        "parts its mutation replaced before retrying later.")
    privacy_spool_wait_s: float = Field(
        30.0, ge=0, description="How long an erasure waits for a running collector to ship "
        "spooled events of the person.")

    @field_validator("warehouse_url")
    @classmethod
    def _check_warehouse(cls, v: str) -> str:
        v = v.strip()
        if v == "lake" or v.startswith(("chdb://", "http://", "https://")):
            return v
        raise ValueError(
            "expected 'lake', 'chdb:///absolute/dir' or an http(s):// ClickHouse URL"
        )

    @field_validator("metadata_url")
    @classmethod
    def _check_metadata(cls, v: str) -> str:
        v = v.strip()
        if v and not v.startswith(("sqlite", "postgresql")):
            raise ValueError("expected a sqlite:/// or postgresql+psycopg:// SQLAlchemy URL")
        if v.startswith("postgresql://"):
            v = "postgresql+psycopg://" + v.removeprefix("postgresql://")
        return v

    @model_validator(mode="before")
    @classmethod
    def _development_secret(cls, data: Any) -> Any:
        """Development without a secret: the data directory's own random one."""
        if not isinstance(data, dict):
            return data
        env = str(data.get("env") or Environment.development.value)
        data_dir = Path(str(data.get("data_dir") or ".lodestone")).expanduser().resolve()
        if not data.get("master_key") and env in ("development", "test"):
            data = {**data, "master_key": dev_master_key(data_dir)}
        if data.get("secret_key") or env != "development":
            return data
        return {**data, "secret_key": dev_secret(data_dir)}

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        how = ("set it to a long random value (python -c 'import secrets; "
               "print(secrets.token_urlsafe(32))')")
        if not self.secret_key or self.secret_key in PLACEHOLDER_SECRETS:
            raise ValueError(f"LODESTONE_SECRET_KEY is empty or a placeholder; {how} "
                             f"when LODESTONE_ENV={self.env.value}")
        if (self.env is Environment.production
                and entropy_bits(self.secret_key) < MIN_ENTROPY_BITS):
            raise ValueError(f"LODESTONE_SECRET_KEY is too weak for production (about "
                             f"{entropy_bits(self.secret_key):.0f} bits; at least "
                             f"{MIN_ENTROPY_BITS} needed); {how}")
        if not self.master_key or self.master_key in PLACEHOLDER_SECRETS:
            raise ValueError("LODESTONE_MASTER_KEY is empty or a placeholder; set it to 32 random "
                             "bytes in base64 (python -c 'import base64, os; print(base64."
                             f"b64encode(os.urandom(32)).decode())') when LODESTONE_ENV="
                             f"{self.env.value}, and keep a copy: without it the leads' "
                             "personal data cannot be read")
        parse_master_key(self.master_key)
        for old in self.master_keys_old.split(","):
            if old.strip():
                parse_master_key(old, "LODESTONE_MASTER_KEYS_OLD")
        return self

    # -- derived paths -------------------------------------------------------------------------
    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def lake_dir(self) -> Path:
        return self.data_path / "lake"

    @property
    def spool_dir(self) -> Path:
        return self.data_path / "spool"

    @property
    def resolved_metadata_url(self) -> str:
        return self.metadata_url or f"sqlite:///{self.data_path / 'metadata.db'}"


def _explain(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "settings"
        var = f"LODESTONE_{field.upper()}" if err["loc"] else "settings"
        lines.append(f"{var}: {err['msg']}")
    return "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Build and validate settings, raising :class:`SettingsError` with the variable's name."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_explain(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (cached); tests call ``get_settings.cache_clear()``."""
    return load_settings()


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that reproduce ``settings`` in a child process."""
    env = dict(os.environ)
    for name in Settings.model_fields:
        value = getattr(settings, name)
        env[f"LODESTONE_{name.upper()}"] = str(value.value if isinstance(value, Enum) else value)
    env["LODESTONE_DATA_DIR"] = str(settings.data_path)
    return env
