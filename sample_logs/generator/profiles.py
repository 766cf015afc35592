"""How each catalog procedure behaves in the synthetic log, and the facts planted in it.

Waits are medians in office hours before a step; service times are medians in minutes (0:
the step is instantaneous and only emits a ``complete`` event). Every figure a test or the
ground truth relies on is measured on the written log, never read back from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sample_logs.catalog import Procedure


@dataclass(frozen=True)
class Timing:
    wait_h: float  # median office hours waited before the step
    service_min: float = 0.0  # median minutes of work; > 0 -> start + complete events


@dataclass(frozen=True)
class Profile:
    code: str
    share: float  # share of all dossiers
    online: float  # share submitted online
    postal: float  # share submitted by post
    timings: dict[str, Timing]
    supplement: float = 0.05  # share of dossiers with >= 1 supplement request
    supplement_again: float = 0.15  # P(another request | one)
    supplement_after: str = "receive"  # the step whose check asks for supplements
    refuse: float = 0.015  # refused at intake (receive -> rejected)
    reject: float = 0.02  # rejected after the appraisal step
    reject_after: str = "appraise"
    withdraw_on_supplement: float = 0.12  # citizen withdraws instead of supplementing
    optional_rate: dict[str, float] = field(default_factory=dict)
    e_result_paper: float = 0.5  # electronic copy issued alongside a paper result
    fee_vnd: int = 0


@dataclass(frozen=True)
class Planted:
    """The facts a reform or mining analysis must find again (see ground_truth.json)."""

    removable_procedure: str = "1.004222"
    removable_step: str = "check_residence_paper"
    removable_failure: float = 0.006
    handoff_procedure: str = "1.004193"
    handoff_province: str = "31"
    handoff_from: str = "transfer_insurance"
    handoff_to: str = "issue_insurance_card"
    handoff_wait_h: float = 48.0  # median office hours in the planted province
    supplement_procedure: str = "1.009974"
    reform_procedure: str = "1.002804"
    reform_date: date = date(2026, 1, 1)
    reform_step: str = "check_health_certificate"
    tet_start: date = date(2026, 1, 19)
    tet_end: date = date(2026, 2, 13)
    tet_multiplier: float = 1.7


PLANTED = Planted()
PERIOD = (date(2025, 7, 1), date(2026, 6, 30))

T = Timing
PROFILES: dict[str, Profile] = {
    p.code: p
    for p in (
        Profile(
            "1.001193",
            share=0.12,
            online=0.55,
            postal=0.0,
            supplement=0.03,
            reject_after="appraise",
            timings={
                "receive": T(0.5, 8),
                "check_birth_paper": T(0.4, 5),
                "check_parents_identity": T(0.02),
                "appraise": T(0.8, 10),
                "sign": T(0.8, 4),
                "return_result": T(0.5),
            },
        ),
        Profile(
            "1.004193",
            share=0.22,
            online=0.72,
            postal=0.0,
            supplement=0.04,
            reject_after="register_birth",
            timings={
                "receive": T(2, 8),
                "register_birth": T(4, 15),
                "sign_birth": T(2, 4),
                "transfer_police": T(0.05),
                "register_residence": T(6, 15),
                "transfer_insurance": T(0.05),
                "issue_insurance_card": T(3, 8),
                "return_result": T(1),
            },
        ),
        Profile(
            "1.004222",
            share=0.16,
            online=0.6,
            postal=0.02,
            fee_vnd=20_000,
            timings={
                "receive": T(3, 10),
                "check_residence_paper": T(14, 20),
                "appraise": T(7, 30),
                "pay_fee": T(0),
                "approve": T(5, 10),
                "update_population_db": T(0.05),
                "return_result": T(2),
            },
        ),
        Profile(
            "2.001417",
            share=0.12,
            online=0.65,
            postal=0.03,
            fee_vnd=200_000,
            reject=0.01,
            reject_after="lookup_judicial_db",
            optional_rate={"verify_with_agencies": 0.15},
            timings={
                "receive": T(3, 10),
                "pay_fee": T(0),
                "lookup_judicial_db": T(0.1),
                "verify_with_agencies": T(40, 30),
                "sign": T(24, 8),
                "return_result": T(2),
            },
        ),
        Profile(
            "2.001610",
            share=0.08,
            online=0.9,
            postal=0.02,
            supplement=0.10,
            fee_vnd=50_000,
            timings={
                "receive": T(2, 10),
                "pay_fee": T(0),
                "check_business_name": T(0.02),
                "appraise": T(6, 30),
                "approve": T(3, 10),
                "return_result": T(1),
            },
        ),
        Profile(
            "1.009974",
            share=0.08,
            online=0.3,
            postal=0.0,
            supplement=0.25,
            supplement_again=0.2,
            supplement_after="appraise",
            reject=0.03,
            fee_vnd=75_000,
            timings={
                "present_originals": T(0),
                "receive": T(4, 15),
                "site_inspection": T(16, 90),
                "appraise": T(20, 60),
                "pay_fee": T(0),
                "sign": T(12, 10),
                "return_result": T(8),
            },
        ),
        Profile(
            "1.012756",
            share=0.08,
            online=0.15,
            postal=0.0,
            supplement=0.12,
            reject=0.03,
            fee_vnd=100_000,
            optional_rate={"cadastral_survey": 0.4},
            timings={
                "present_originals": T(0),
                "receive": T(4, 15),
                "confirm_land_origin": T(16, 60),
                "transfer_province": T(0.2),
                "cadastral_survey": T(30, 120),
                "appraise": T(28, 60),
                "tax_notice": T(12, 20),
                "pay_fee": T(0),
                "sign": T(16, 10),
                "return_result": T(8),
            },
        ),
        Profile(
            "1.002804",
            share=0.14,
            online=0.6,
            postal=0.02,
            supplement=0.04,
            reject=0.01,
            reject_after="approve",
            fee_vnd=135_000,
            timings={
                "receive": T(2, 8),
                "check_health_certificate": T(12, 10),
                "pay_fee": T(0),
                "approve": T(6, 10),
                "print_licence": T(4),
                "return_result": T(1),
            },
        ),
    )
}

# Median waits (office hours) and service minutes by step kind, for procedures of a user's
# catalog that have no profile above.
_KIND_TIMING = {
    "verification": Timing(6, 20),
    "appraisal": Timing(8, 40),
    "approval": Timing(4, 10),
    "transfer": Timing(0.1),
    "payment": Timing(0),
    "result": Timing(1),
}


def profile_for(procedure: Procedure) -> Profile:
    """The planted profile of a catalog procedure, or a plain one derived from its steps."""
    if procedure.code in PROFILES:
        return PROFILES[procedure.code]
    timings = {}
    for step in procedure.steps[1:]:
        timing = _KIND_TIMING.get(step.kind.value, Timing(2, 10))
        if step.actor.value == "system":
            timing = Timing(0.05)
        timings[step.code] = timing
    timings["receive"] = Timing(2, 10)
    appraisal = [s.code for s in procedure.steps if s.kind.value == "appraisal"]
    return Profile(
        procedure.code,
        share=0.1,
        online=0.5,
        postal=0.02,
        timings=timings,
        reject_after=appraisal[0] if appraisal else "receive",
        optional_rate={s.code: 0.2 for s in procedure.steps if s.optional},
    )
