"""What the early warning answers: one definition for the Python API, the CLI's JSON, the
read API's schema and the dashboard page."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

Method = Literal["model", "pooled", "rule"]


class Words(BaseModel):
    """A sentence in both languages of the users."""

    vi: str
    en: str


class Reason(Words):
    """Why a dossier is at risk; ``weight``: how much higher its probability is than with
    that fact at its usual value (0 for the rule's reasons)."""

    weight: float = 0.0


class DossierWarning(BaseModel):
    rank: int
    case_id: str
    procedure: str
    province: str | None
    province_name: str | None = None
    commune: str | None
    commune_name: str | None = None
    unit: str | None  # the unit it is at (its last event's)
    unit_name: Words | None = None
    received: datetime
    due: datetime | None
    probability_late: float | None  # None when the rule stands in for the model
    rule_status: str | None  # within | at_risk | overdue (the existing rule)
    deadline_used_share: float | None
    working_days_left: float | None  # before the due moment (negative: overdue)
    expected_days: float | None  # working days still to go (median)
    expected_days_low: float | None  # 10 % quantile
    expected_days_high: float | None  # 90 % quantile
    expected_finish: datetime | None
    expected_finish_low: datetime | None
    expected_finish_high: datetime | None
    step: str | None  # the last step done (or started), catalog code
    step_label: Words | None
    step_in_progress: bool
    waited_days: float | None  # since its last event, in working days
    usual_wait_days: float | None  # median stay after that step at that unit
    usual_wait_p90_days: float | None
    supplement_requests: int
    reasons: list[Reason]


class UnitCount(BaseModel):
    unit: str
    unit_name: Words | None = None
    open: int
    flagged: int  # probability at or above the threshold (or at risk / overdue by the rule)
    mean_probability: float | None


class QualityPoint(BaseModel):
    """Model and rule on test dossiers still open at one share of their deadline."""

    share: float
    dossiers: int
    late: int
    auc_model: float | None
    auc_rule: float | None
    brier_model: float | None
    brier_rule: float | None  # the rule's flag as a 0/1 forecast
    recall_rule: float | None
    precision_rule: float | None
    precision_model_at_rule_recall: float | None


class LeadTime(BaseModel):
    """Warning before the due moment for the late test dossiers (working days, mean over
    all of them, 0 for one never warned in time), and false alarms among on-time ones."""

    late_dossiers: int
    on_time_dossiers: int
    model_days: float | None
    rule_days: float
    model_warned_share: float | None
    rule_warned_share: float
    model_false_alarm_share: float | None
    rule_false_alarm_share: float


class QualityCard(BaseModel):
    """How good the warnings are, measured on dossiers the model never saw: trained on
    those received before ``cut`` (and finished by then), tested on those received after."""

    method: Method
    cut: datetime
    train_dossiers: int
    test_dossiers: int
    threshold: float
    points: list[QualityPoint]
    lead_time: LeadTime | None
    remaining_mae_days: float | None  # expected finish, over every prefix of the test dossiers
    training_seconds: float  # training + scoring every test point
    fit_seconds: float | None = None  # training alone
    note: Words | None = None


class Warnings(BaseModel):
    procedure: str
    procedure_name: Words | None
    as_of: datetime
    method: Method
    message: Words | None  # why the rule stands in, when it does
    threshold: float
    open_dossiers: int
    flagged: int
    items: list[DossierWarning]
    by_unit: list[UnitCount]
    trained_on: int  # finished dossiers the model learnt from (0: the rule)
    training_seconds: float
    scoring_seconds: float
    quality: QualityCard | None
    store_version: str | None = None  # the store's now
    model_version: str | None = None  # the store's when the model answering was trained
    model_trained_at: datetime | None = None
    retraining: bool = False  # a model of the current version is being trained meanwhile
