"""All configuration, read from the environment (prefix ``DVCFLOW_``) or a ``.env`` file.

Rules that DOMAIN.md marks uncertain live here as settings, never as constants in code.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVCFLOW_", env_file=".env", extra="ignore")

    # --- store -------------------------------------------------------------------------
    data_dir: Path = Field(
        Path("./data"), description="where the event store lives (also `dvcflow --data-dir`)"
    )
    timezone: str = Field("Asia/Ho_Chi_Minh", description="local time zone of the procedures")
    pseudonym_key: SecretStr | None = Field(
        None, description="HMAC key that turns applicant ids into applicant_ref"
    )
    compact_min_files: int = Field(
        64, description="the sink compacts a partition once it holds this many batch files"
    )

    catalog_dir: Path | None = Field(
        None, description="folder of procedure catalog JSON files (default: the packaged one)"
    )
    # --- names of units (dashboard helper's block) ------------------------------------------
    units_file: Path | None = Field(
        None,
        description="JSON {org unit code: name or {vi, en}} naming a deployment's units "
        "(e.g. P79.STNMT); codes it does not name are named by sample_logs.names",
    )
    kpi_targets: dict[str, float] = Field(
        default_factory=lambda: {
            "on_time_rate": 0.95,
            "full_online_share": 0.8,
            "service_index": 80.0,
        },
        description="targets the overview cards are coloured against (shares 0-1, the "
        "service index out of 100); within kpi_target_margin below a target shows as a warning",
    )
    kpi_target_margin: float = Field(
        0.1, description="how far below a target (share, or a tenth of the index) still warns"
    )
    kpi_min_finished: int = Field(
        30,
        description="fewest finished dossiers a rate is shown for; fewer show 'not enough "
        "finished dossiers' instead of e.g. 100% on 1 of 28",
    )
    extra_holidays: list[str] = Field(
        default_factory=list,
        description="extra days off (YYYY-MM-DD), e.g. the yearly swapped days around Tết",
    )
    extra_workdays: list[str] = Field(
        default_factory=list, description="weekend days declared working days (YYYY-MM-DD)"
    )

    # --- event contract limits -----------------------------------------------------------
    max_attributes: int = Field(
        64, description="an event carries at most this many attributes (more: refused, 422 / DLQ)"
    )
    max_attributes_bytes: int = Field(
        8192, description="an event's attributes take at most this many bytes as JSON"
    )
    timestamp_earliest: date = Field(
        date(2000, 1, 1),
        description="events timed before this day (UTC) are refused at the contract (422 / DLQ)",
    )
    timestamp_ahead_days: int = Field(
        366, ge=0, description="events timed more than this many days ahead are refused"
    )

    # --- Kafka ---------------------------------------------------------------------------
    kafka_bootstrap: str | None = Field(
        None, description="Kafka brokers, host:port[,host:port] (unset: no streaming)"
    )
    kafka_security_protocol: str | None = Field(
        None, description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (default: Kafka's)"
    )
    kafka_sasl_mechanism: str | None = Field(
        None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, with a SASL protocol"
    )
    kafka_sasl_username: str | None = Field(None, description="the SASL user name")
    kafka_sasl_password: SecretStr | None = Field(None, description="the SASL password")
    kafka_ssl_ca_location: str | None = Field(
        None, description="CA certificate file that the brokers' TLS certificates are checked with"
    )
    topic_events: str = Field("dvc.events", description="the topic events are produced to")
    topic_dlq: str = Field(
        "dvc.events.dlq", description="the dead-letter topic: refused events, with the reason"
    )
    topic_partitions: int = Field(
        6, description="partitions of the events topic when dvcflow creates it"
    )
    consumer_group: str = Field(
        "dvcflow-sink", description="the sink's Kafka consumer group (one per store)"
    )
    sink_batch_size: int = Field(
        20_000, description="the sink writes a batch file once it holds this many events"
    )
    sink_batch_seconds: float = Field(
        2.0, description="... or once its oldest pending event waited this long"
    )
    gateway_ack_timeout_seconds: float = Field(
        10.0, description="the gateway answers 503 when Kafka has not acknowledged by then"
    )
    gateway_max_errors: int = Field(
        50, ge=1, description="a 422/403/409 answer lists this many events' errors, then a count"
    )
    stream_producers: dict[str, dict[str, list[str] | str | None]] = Field(
        default_factory=dict,
        description="Kafka principals allowed to produce straight to their own topic, with "
        'their scope: {"int79": {"topic": "dvc.events.int79", "provinces": ["79"]}} '
        "(the sink drops to the DLQ what a topic's principal may not write, as the gateway "
        "refuses it over HTTP)",
    )

    # --- web -----------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="address `dvcflow serve` listens on")
    port: int = Field(8050, description="port `dvcflow serve` listens on")
    gateway_max_request_bytes: int = Field(
        10 * 1024 * 1024, description="the gateway refuses (413) a request body larger than this"
    )
    api_keys_file: Path | None = Field(
        None, description="JSON file of gateway API keys and read tokens with their scopes"
    )
    web_secure_cookies: bool = Field(
        False, description="mark the session cookie Secure (set it when served behind TLS)"
    )
    web_session_hours: float = Field(
        8.0, gt=0, description="a dashboard sign-in lasts this long (server-side session)"
    )
    auth_max_failures: int = Field(
        10, ge=1, description="unknown tokens per client address within the window before 429"
    )
    auth_failure_window_seconds: float = Field(
        300.0, gt=0, description="the window over which failed tokens are counted"
    )
    metrics_require_token: bool = Field(
        True,
        description="/api/metrics needs a key (any role) once keys exist, like /api/v1/stream/"
        "health; set false for a Prometheus scraper on a private network",
    )
    web_stale_seconds: float = Field(
        10.0,
        description="while events stream in, the dashboard recomputes a figure at most this "
        "often (the read API always answers for the current store version)",
    )
    web_warm_cache: bool = Field(
        True,
        description="compute the overview and each procedure's analysis and reform figures "
        "in the background",
    )
    web_refresh_seconds: float = Field(
        5.0, description="how often open dashboards check the store for new events"
    )
    web_warm_provinces: int = Field(
        10,
        ge=0,
        description="the background warming also computes each procedure's views for its "
        "busiest this many provinces (0: none)",
    )
    web_kept_logs: int = Field(
        4,
        ge=0,
        description="the dashboard keeps the loaded logs of this many filters last asked for "
        "(a procedure or narrower), so a drill-down, what-if or reform figure on one skips "
        "reading the store (about 1.3 MB per 1,000 events of the filter: 360 MB for 275k)",
    )

    # --- deadlines and on-time rules (DOMAIN.md marks these uncertain) -------------------
    max_supplements_on_time: int = Field(
        1, description="a dossier with more supplement requests than this counts as late"
    )
    exclude_supplement_wait: bool = Field(
        True, description="time waiting for the citizen's supplements does not count"
    )
    at_risk_share: float = Field(
        0.8, description="an open dossier past this share of its deadline is 'at risk'"
    )
    same_day_cutoff_hour: int = Field(
        15, description="same-day procedures received after this hour are due the next day"
    )

    # --- early warning (mining.warning) ----------------------------------------------------
    warning_min_finished: int = Field(
        100,
        description="finished dossiers with a due date a procedure needs for its own warning "
        "model; fewer: pooled with the store's other procedures, then the at-risk rule",
    )
    warning_min_late: int = Field(
        10, description="late (and on-time) finished dossiers a warning model needs at least"
    )
    warning_threshold: float = Field(
        0.5, description="probability of finishing late from which an open dossier is flagged"
    )
    warning_retrain_seconds: float = Field(
        300.0,
        description="while events stream in, the dashboard rescores open dossiers at every "
        "store version but retrains a procedure's model at most this often",
    )
    warning_pool_below_late: int = Field(
        100,
        description="a procedure with fewer late finished dossiers than this learns from "
        "all the store's procedures (the procedure a feature) rather than alone",
    )
    warning_case_attributes: list[str] = Field(
        default_factory=list,
        description="trace attributes of imported logs known when a dossier starts, used as "
        "warning features (e.g. BPIC 2015's Responsible_actor); never ones set at the end",
    )

    # --- mining ----------------------------------------------------------------------------
    mining_threads: int | None = Field(
        None, description="DuckDB threads for analyses (default: all cores)"
    )
    mining_memory_limit: str | None = Field(
        None, description="DuckDB memory limit for analyses, e.g. '4GB' (default: DuckDB's)"
    )
    mining_cache_size: int = Field(
        32, description="analyses kept in memory per process, keyed by store version and filter"
    )
    noise_threshold: float = Field(
        0.2, description="inductive miner noise threshold (0 = every path, IMf above 0)"
    )
    model_max_activities: int = Field(
        30,
        description="process models are discovered on at most this many activities (the most "
        "frequent); the others are left out of the model, and the answer says so",
    )
    model_activity_share: float = Field(
        1.0,
        description="process models keep the most frequent activities covering this share of "
        "all activity occurrences (1.0 = all, within model_max_activities)",
    )
    model_imf_max_variants: int = Field(
        2000,
        description="the inductive miner works on the variants (IMf) up to this many distinct "
        "variants and model_imf_max_activities activities; above, on the directly-follows "
        "graph (IMd), whose cost does not grow with the log",
    )
    model_imf_max_activities: int = Field(30, description="see model_imf_max_variants")
    model_seconds: float = Field(
        2.0,
        description="time budget of each model step (discovery, replay, precision); past it "
        "discovery falls back to IMd and replay stops, and the answer says what was done",
    )

    # --- reform and service index (DOMAIN.md: the index weights are unofficial) ----------
    service_index_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "on_time": 15.0,
            "processing_time": 5.0,
            "online_submission": 8.0,
            "full_online": 4.0,
            "online_payment": 10.0,
            "e_result": 6.0,
            "digitised": 8.0,
            "data_reuse": 4.0,
            "vneid": 4.0,
            "satisfaction": 9.0,
            "no_overdue_no_complaint": 9.0,
            "published": 9.0,
            "synchronised": 9.0,
        },
        description="points per service-index component (groups of Decision 766/QĐ-TTg)",
    )
    service_index_full_at: dict[str, float] = Field(
        default_factory=lambda: {
            "online_submission": 0.5,
            "digitised": 0.8,
            "no_overdue_no_complaint": 0.9,
        },
        description="share at which a component earns full points (others: 1.0)",
    )
    impact_window_days: int = Field(
        90, description="reform impact compares this many days before and after the date"
    )
    impact_alpha: float = Field(
        0.05, description="significance level of reform impact tests (Holm-corrected)"
    )
    impact_bootstrap: int = Field(2000, description="bootstrap resamples for impact intervals")
    reform_seed: int = Field(20250701, description="seed of every resampling, for repeatability")
    candidate_max_failure: float = Field(
        0.05,
        description="a check leading to a supplement or refusal at most this often rarely fails",
    )
    reform_inferred_required_share: float = Field(
        1.0,
        description="reform without a catalog: a step that this share of finished dossiers "
        "passes before their result is treated as required by law (never advised for removal)",
    )
    wait_outlier_ratio: float = Field(
        2.0,
        description="reform: a unit's median wait before a step is a candidate when it is at "
        "least this many times the median of the other units",
    )
    wait_min_excess_days: float = Field(
        0.5,
        description="reform: a unit's wait is a candidate only when its median also exceeds "
        "the other units' median by at least this many working days",
    )
    wait_min_dossiers: int = Field(
        10, description="reform: fewest dossiers of a unit for its waits to be compared"
    )
    automated_step_minutes: float = Field(
        1.0, description="what-if: how long an automated step takes (minutes)"
    )

    def timestamp_window(self) -> tuple[datetime, datetime]:
        """The instants an event may carry (``ingest.schema.timestamp_window``)."""
        from ingest.schema import timestamp_window

        return timestamp_window(self.timestamp_earliest, self.timestamp_ahead_days)

    def require_pseudonym_key(self) -> bytes:
        """The HMAC key; ingest never runs without one.

        Taken from ``DVCFLOW_PSEUDONYM_KEY``, else from the key file that ``dvcflow demo``
        left under the data dir.
        """
        key_file = self.data_dir / ".pseudonym_key"
        if self.pseudonym_key is None and key_file.exists():
            self.pseudonym_key = SecretStr(key_file.read_text().strip())
        if self.pseudonym_key is None or not self.pseudonym_key.get_secret_value():
            raise SettingsError(
                "DVCFLOW_PSEUDONYM_KEY is not set: ingest needs a secret key to pseudonymise "
                "applicant ids (or run `dvcflow demo`, which creates one under the data dir)."
            )
        return self.pseudonym_key.get_secret_value().encode()

    def ensure_demo_key(self) -> None:
        """Demo mode only: create (once) and use a key file under the data dir."""
        if self.pseudonym_key is not None:
            return
        key_file = self.data_dir / ".pseudonym_key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        self.pseudonym_key = SecretStr(key_file.read_text().strip())


@lru_cache
def get_settings() -> Settings:
    return Settings()


def or_environment(settings: Settings | None) -> Settings:
    """``settings``, else the environment's (``get_settings()``): the default of mining's
    public functions, for notebooks. The CLI and the web service always pass their own, so
    nothing deep inside mining reads the environment behind their back."""
    return settings if settings is not None else get_settings()
