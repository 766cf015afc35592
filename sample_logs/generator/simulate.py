"""Walks each dossier of one procedure through its catalog steps, all dossiers at once.

Officer and system steps advance an office-hours clock (queue wait, then service time);
citizen steps (online payment, supplements, pick-up) advance real time. Branches (refusal at
intake, supplement loops, rejection, withdrawal, optional steps, the planted reform) are
boolean masks, so a step costs a handful of numpy operations for every dossier together.
"""

from __future__ import annotations

import numpy as np

from sample_logs.catalog import Procedure, Step, StepKind
from sample_logs.generator import attributes
from sample_logs.generator.clock import OfficeClock
from sample_logs.generator.dossiers import ONLINE, Dossiers
from sample_logs.generator.events import ACT, CH, OUT, EventBuffer
from sample_logs.generator.geography import (
    COMMUNE_OFFICERS,
    COMMUNE_POLICE_OFFICERS,
    PROVINCE_OFFICERS,
    PROVINCES,
)
from sample_logs.generator.profiles import Planted, Profile, Timing
from sample_logs.workdays import WorkCalendar

HOUR = 3600
SIGMA = 0.7  # spread of waits (lognormal): a few dossiers wait much longer than the median
DEFAULT_TIMING = Timing(2, 10)


class ProcedureWalk:
    """The simulation state of one procedure's dossiers: clock, liveness, outcome."""

    def __init__(
        self,
        proc: Procedure,
        profile: Profile,
        dossiers: Dossiers,
        idx: np.ndarray,
        communes: list[str],
        rng: np.random.Generator,
        clock: OfficeClock,
        calendar: WorkCalendar,
        planted: Planted,
        buf: EventBuffer,
    ) -> None:
        self.proc = proc
        self.profile = profile
        self.rng = rng
        self.clock = clock
        self.calendar = calendar
        self.planted = planted
        self.buf = buf
        self.communes = communes
        self.case = idx
        self.n = len(idx)
        self.t0 = dossiers.t_submit[idx]
        self.province = dossiers.province[idx]
        self.commune = dossiers.commune[idx]
        self.data_reused = dossiers.data_reused[idx]
        self.digitised = dossiers.digitised[idx]
        self.vneid = dossiers.vneid[idx]
        self.channel = dossiers.channel[idx].astype(np.int8)  # ONLINE/COUNTER/POSTAL = CH codes
        self.online = self.channel == ONLINE
        self.w = clock.to_office(self.t0)  # each dossier's position on the office clock
        self.alive = np.ones(self.n, bool)
        self.rejected = np.zeros(self.n, bool)
        self.include = {s.code: self._inclusion(s) for s in proc.steps}
        self.loop = [proc.step(c) for c in ("request_supplement", "submit_supplement", "withdraw")]
        self._unit_cache: dict[str | None, np.ndarray] = {}

    # --- helpers ------------------------------------------------------------------------
    def _lognormal(self, median: float, mask: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
        k = int(mask.sum())
        if median <= 0:
            return np.zeros(k, np.int64)
        return (median * self.rng.lognormal(0.0, sigma, k)).astype(np.int64)

    def _inclusion(self, step: Step) -> np.ndarray:
        p, rate = self.planted, self.profile.optional_rate.get(step.code)
        mask = np.ones(self.n, bool) if rate is None else self.rng.random(self.n) < rate
        if self.proc.code == p.removable_procedure and step.code == p.removable_step:
            mask = ~self.data_reused  # the population database already holds the data
        if self.proc.code == p.reform_procedure and step.code == p.reform_step:
            reform = np.datetime64(p.reform_date).astype("datetime64[s]").astype(np.int64)
            mask = self.t0 < reform
        return mask

    def _units(self, step: Step) -> np.ndarray:
        """Org-unit vocabulary index of ``step`` for every dossier (by its commune)."""
        if step.unit not in self._unit_cache:
            table = np.full(len(self.communes), -1, np.int32)
            for ci, pi in set(zip(self.commune.tolist(), self.province.tolist(), strict=True)):
                code = self.proc.unit_code(step.unit, PROVINCES[pi].code, self.communes[ci])
                table[ci] = self.buf.units.index(code)
            self._unit_cache[step.unit] = table[self.commune]
        return self._unit_cache[step.unit]

    def _officers(self, step: Step, units: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """A random officer of the step's unit per dossier (resource vocabulary index)."""
        where = step.unit or self.proc.home_unit
        if where == "commune.CA":
            size = COMMUNE_POLICE_OFFICERS
        elif where.startswith("commune"):
            size = COMMUNE_OFFICERS
        else:
            size = PROVINCE_OFFICERS
        names = self.buf.units.values
        mine = units[mask]
        uniq = np.unique(mine)
        table = np.array(
            [
                [self.buf.resources.index(f"{names[u]}.CB{j:02d}") for j in range(1, size + 1)]
                for u in uniq.tolist()
            ],
            dtype=np.int32,
        ).reshape(len(uniq), size)
        return table[np.searchsorted(uniq, mine), self.rng.integers(0, size, len(mine))]

    def _emit(self, mask: np.ndarray, step: Step, t: np.ndarray, **kw) -> None:
        self.buf.add(self.case[mask], step.code, t, unit=self._units(step)[mask], **kw)

    def _province_index(self, code: str) -> int:
        return next(i for i, p in enumerate(PROVINCES) if p.code == code)

    # --- step kinds ---------------------------------------------------------------------
    def officer_step(self, step: Step, mask: np.ndarray) -> None:
        """Queue wait, then service (start + complete) or an instantaneous complete."""
        timing = self.profile.timings.get(step.code, DEFAULT_TIMING)
        wait = self._lognormal(timing.wait_h * HOUR, mask)
        p = self.planted
        if self.proc.code == p.handoff_procedure and step.code == p.handoff_to:
            slow = self.province[mask] == self._province_index(p.handoff_province)
            wait = np.where(slow, self._lognormal(p.handoff_wait_h * HOUR, mask), wait)
        self.w[mask] += wait
        if step.actor.value == "system":
            system = "HT." + (step.replaceable_by_data or step.code).upper()
            res = np.full(int(mask.sum()), self.buf.resources.index(system))
            channel = CH["system"]
        else:
            res = self._officers(step, self._units(step), mask)
            channel = CH["internal"]
        kw = {"channel": channel, "actor": ACT[step.actor.value], "resource": res}
        if timing.service_min > 0:
            self._emit(mask, step, self.clock.to_real(self.w[mask]), lifecycle=1, **kw)
            self.w[mask] += self._lognormal(timing.service_min * 60, mask, 0.5) + 60
        self._emit(mask, step, self.clock.to_real(self.w[mask]), **kw)

    def citizen_step(self, step: Step, mask: np.ndarray) -> np.ndarray:
        """Online: any hour after a real-time delay; else a later office moment (same visit
        for originals shown at the counter). Returns the channel per dossier of ``mask``."""
        online = self.online[mask] & (not step.requires_presence)
        same_visit = (~self.online[mask]) & (step.code == "present_originals")
        t_online = self.clock.to_real(self.w[mask]) + self._lognormal(3 * HOUR, mask)
        w_office = self.w[mask] + np.where(same_visit, 300, self._lognormal(6 * HOUR, mask))
        t = np.where(online, t_online, self.clock.to_real(w_office))
        self.w[mask] = np.where(online, self.clock.to_office(t), w_office)
        channel = np.where(online, CH["online"], CH["counter"]).astype(np.int8)
        attrs = None
        if step.kind is StepKind.payment:
            attrs = attributes.payment(channel == CH["online"], self.profile.fee_vnd)
        self._emit(mask, step, t, channel=channel, actor=ACT["citizen"], attrs=attrs)
        return channel

    def citizen_reply(self, mask: np.ndarray, step: Step, days: float, outcome: int = 0) -> None:
        """The citizen answers (or gives up) after some days, through their own channel."""
        online = self.online[mask]
        t_online = self.clock.to_real(self.w[mask]) + self._lognormal(days * 86_400, mask, 0.8)
        w_office = self.w[mask] + self._lognormal(days * 8 * HOUR, mask, 0.8)
        t = np.where(online, t_online, self.clock.to_real(w_office))
        self.w[mask] = np.where(online, self.clock.to_office(t), w_office)
        ch = self.channel[mask]
        self._emit(mask, step, t, channel=ch, actor=ACT["citizen"], outcome=outcome)

    def supplement_round(self, mask: np.ndarray, origin: Step) -> None:
        """request -> (withdraw | citizen supplements -> the origin step again)."""
        request, answer, withdraw = self.loop
        if request is None or answer is None or not mask.any():
            return  # a user catalog without the supplement loop
        self.w[mask] += 120
        res = self._officers(request, self._units(request), mask)
        t = self.clock.to_real(self.w[mask])
        self._emit(mask, request, t, channel=self.channel[mask], actor=ACT["officer"], resource=res)
        quits = mask & (self.rng.random(self.n) < self.profile.withdraw_on_supplement)
        if withdraw is None:
            quits[:] = False
        else:
            self.citizen_reply(quits, withdraw, 5.0, outcome=OUT["withdrawn"])
        self.alive &= ~quits
        goes_on = mask & ~quits
        self.citizen_reply(goes_on, answer, 2.5)
        self.officer_step(origin, goes_on)

    def result_step(self, step: Step) -> None:
        """Result back online, by post or at the counter (picked up later), with outcome."""
        mask = self.alive
        k = int(mask.sum())
        u = self.rng.random(k)
        online = self.online[mask]
        if step.paper and step.requires_presence:
            channel = np.full(k, CH["counter"])
        elif step.paper:
            channel = np.where(u < np.where(online, 0.6, 0.15), CH["postal"], CH["counter"])
        else:
            by_post_or_counter = np.where(u < 0.3, CH["postal"], CH["counter"])
            channel = np.where(online | (u < 0.2), CH["online"], by_post_or_counter)
        channel = channel.astype(np.int8)
        timing = self.profile.timings.get(step.code, Timing(1))
        self.w[mask] += self._lognormal(timing.wait_h * HOUR, mask)
        pickup = channel == CH["counter"]
        self.w[mask] += np.where(pickup, self._lognormal(8 * HOUR, mask), 0)
        res = self._officers(step, self._units(step), mask)
        approved = ~self.rejected[mask]
        attrs = attributes.result(
            self.rng,
            approved,
            step.paper,
            self.profile.e_result_paper,
            self.proc.code == "2.001610",
        )
        self._emit(
            mask,
            step,
            self.clock.to_real(self.w[mask]),
            channel=channel,
            actor=ACT["officer"],
            resource=res,
            outcome=np.where(approved, OUT["approved"], OUT["rejected"]),
            attrs=attrs,
        )

    # --- the walk -------------------------------------------------------------------------
    def run(self) -> None:
        proc, prof, p = self.proc, self.profile, self.planted
        self._emit(
            np.ones(self.n, bool),
            proc.steps[0],
            self.t0,
            channel=self.channel,
            actor=ACT["citizen"],
            attrs=self._submission_attrs(),
        )
        for step in proc.steps[1:]:
            if step.kind is StepKind.supplement or step in self.loop:
                continue
            if step.kind is StepKind.result:
                self.result_step(step)
                continue
            mask = self.alive & ~self.rejected & self.include[step.code]
            if step.actor.value == "citizen":
                self.citizen_step(step, mask)
            else:
                self.officer_step(step, mask)
            if step.code == "receive":
                refused = mask & (self.rng.random(self.n) < prof.refuse)
                self._mark_last_outcome(refused, OUT["rejected"])
                self.alive &= ~refused
            if proc.code == p.removable_procedure and step.code == p.removable_step:
                failed = mask & self.alive & (self.rng.random(self.n) < p.removable_failure)
                self.supplement_round(failed, step)
            if step.code == prof.supplement_after:
                asked = self.alive & (self.rng.random(self.n) < prof.supplement)
                while asked.any():
                    self.supplement_round(asked, step)
                    asked &= self.alive & (self.rng.random(self.n) < prof.supplement_again)
            if step.code == prof.reject_after:
                self.rejected |= self.alive & (self.rng.random(self.n) < prof.reject)

    def _mark_last_outcome(self, mask: np.ndarray, outcome: int) -> None:
        """Set the outcome on the event just emitted for these dossiers (refusal at intake)."""
        if not mask.any():
            return
        cases = self.buf.cols["case"][-1]
        self.buf.cols["outcome"][-1][np.isin(cases, self.case[mask])] = outcome

    def _submission_attrs(self) -> np.ndarray:
        n_days = np.full(self.n, self.proc.deadline_working_days)
        longer = self.proc.deadline_working_days_verification
        verify = [s for s in self.proc.steps if s.optional and s.kind is StepKind.verification]
        if longer is not None and verify:
            n_days = np.where(self.include[verify[0].code], longer, n_days)
        due = attributes.due_dates(self.calendar, self.t0, n_days)
        return attributes.submission(self.digitised, self.vneid, self.data_reused, due)
