"""Walks each dossier of one procedure through its catalog steps, all dossiers at once.

Officer and system steps advance an office-hours clock (queue wait, then service time);
citizen steps (online payment, supplements, pick-up) advance real time. Branches (refusal at
intake, supplement loops, rejection, withdrawal, optional steps, the planted reform) are
boolean masks, so a step costs a handful of numpy operations for every dossier together.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import orjson

from sample_logs.catalog import Procedure, Step, StepKind
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
SIGMA = 0.7
_SATISFACTION_P = np.array([0.03, 0.05, 0.12, 0.35, 0.45])
_SYSTEMS = {None: "HT.LGSP"}


def _as_iso(t: np.ndarray) -> np.ndarray:
    return np.char.add(np.datetime_as_string(t.astype("datetime64[s]"), unit="s"), "+07:00")


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
        self.proc, self.profile, self.rng, self.clock, self.planted, self.buf = (
            proc,
            profile,
            rng,
            clock,
            planted,
            buf,
        )
        self.calendar = calendar
        self.case = idx
        self.n = n = len(idx)
        self.channel = dossiers.channel[idx]
        self.t0 = dossiers.t_submit[idx]
        self.province = dossiers.province[idx]
        self.commune = dossiers.commune[idx]
        self.data_reused = dossiers.data_reused[idx]
        self.digitised = dossiers.digitised[idx]
        self.vneid = dossiers.vneid[idx]
        self.w = clock.to_office(self.t0)
        self.alive = np.ones(n, bool)
        self.rejected = np.zeros(n, bool)
        self.communes = communes
        self.online = self.channel == ONLINE
        self.cit_channel = self.channel.astype(np.int8)  # ONLINE/COUNTER/POSTAL = CH codes
        self.include = {s.code: self._inclusion(s) for s in proc.steps}

    # --- helpers ------------------------------------------------------------------------
    def _lognormal(self, median: float, mask: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
        k = int(mask.sum())
        if median <= 0:
            return np.zeros(k, np.int64)
        return (median * self.rng.lognormal(0.0, sigma, k)).astype(np.int64)

    def _inclusion(self, step: Step) -> np.ndarray:
        p, rate = self.planted, self.profile.optional_rate.get(step.code)
        mask = np.ones(self.n, bool)
        if rate is not None:
            mask = self.rng.random(self.n) < rate
        if self.proc.code == p.removable_procedure and step.code == p.removable_step:
            mask = ~self.data_reused  # the population database already holds the data
        if self.proc.code == p.reform_procedure and step.code == p.reform_step:
            reform = np.datetime64(p.reform_date).astype("datetime64[s]").astype(np.int64)
            mask = self.t0 < reform
        return mask

    def _units(self, step: Step) -> np.ndarray:
        table = np.array(
            [
                self.buf.units.index(
                    self.proc.unit_code(step.unit, PROVINCES[pi].code, self.communes[ci])
                )
                for ci, pi in self._commune_province()
            ]
        )
        return table[self.commune_local]

    def _commune_province(self) -> list[tuple[int, int]]:
        if not hasattr(self, "_cp"):
            pairs = np.unique(np.stack([self.commune, self.province], 1), axis=0)
            self._cp = [(int(c), int(p)) for c, p in pairs]
            lookup = {c: i for i, (c, _) in enumerate(self._cp)}
            self.commune_local = np.array([lookup[c] for c in self.commune.tolist()], np.int64)
        return self._cp

    def _officers(self, step: Step, units: np.ndarray, mask: np.ndarray) -> np.ndarray:
        where = step.unit or self.proc.home_unit
        size = (
            COMMUNE_POLICE_OFFICERS
            if where == "commune.CA"
            else COMMUNE_OFFICERS
            if where.startswith("commune")
            else PROVINCE_OFFICERS
        )
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
        k = self.rng.integers(0, size, len(mine))
        return table[np.searchsorted(uniq, mine), k]

    def _emit(self, mask, step: Step, t, units, **kw) -> None:
        self.buf.add(self.case[mask], step.code, t, unit=units[mask], **kw)

    # --- step kinds ---------------------------------------------------------------------
    def officer_step(self, step: Step, mask: np.ndarray, timing: Timing, scale=1.0) -> None:
        """Queue wait, then service (start + complete) or an instantaneous complete."""
        units = self._units(step)
        wait = self._lognormal(timing.wait_h * HOUR * scale, mask)
        p = self.planted
        if self.proc.code == p.handoff_procedure and step.code == p.handoff_to:
            slow = self.province[mask] == self._province_index(p.handoff_province)
            wait = np.where(slow, self._lognormal(p.handoff_wait_h * HOUR, mask), wait)
        self.w[mask] += wait
        system = step.actor.value == "system"
        if system:
            res = np.full(int(mask.sum()), self.buf.resources.index(self._system(step)))
            channel = CH["system"]
        else:
            res = self._officers(step, units, mask)
            channel = CH["internal"]
        actor = ACT[step.actor.value]
        if timing.service_min > 0:
            t = self.clock.to_real(self.w[mask])
            self._emit(
                mask, step, t, units, channel=channel, actor=actor, resource=res, lifecycle=1
            )
            self.w[mask] += self._lognormal(timing.service_min * 60, mask, 0.5) + 60
        t = self.clock.to_real(self.w[mask])
        self._emit(mask, step, t, units, channel=channel, actor=actor, resource=res)

    def _system(self, step: Step) -> str:
        return "HT." + (step.replaceable_by_data or step.code).upper()

    def _province_index(self, code: str) -> int:
        return next(i for i, p in enumerate(PROVINCES) if p.code == code)

    def citizen_step(self, step: Step, mask: np.ndarray, attrs=None) -> np.ndarray:
        """Online: any hour after a real-time delay; otherwise at a later office moment.

        Returns the channel used per dossier of ``mask``.
        """
        units = self._units(step)
        online = self.online[mask]
        if step.requires_presence:
            online = np.zeros_like(online)
        delay_online = self._lognormal(3 * HOUR, mask)
        delay_office = self._lognormal(6 * HOUR, mask)
        same_visit = (~self.online[mask]) & (step.code == "present_originals")
        t_online = self.clock.to_real(self.w[mask]) + delay_online
        w_office = self.w[mask] + np.where(same_visit, 300, delay_office)
        t = np.where(online, t_online, self.clock.to_real(w_office))
        self.w[mask] = np.where(online, self.clock.to_office(t), w_office)
        channel = np.where(online, CH["online"], CH["counter"]).astype(np.int8)
        self._emit(mask, step, t, units, channel=channel, actor=ACT["citizen"], attrs=attrs)
        return channel

    def supplement_round(self, mask: np.ndarray, origin: Step) -> None:
        """request -> (withdraw | citizen supplements -> origin step again)."""
        request = self.proc.step("request_supplement")
        answer = self.proc.step("submit_supplement")
        withdraw = self.proc.step("withdraw")
        assert request and answer and withdraw
        self.w[mask] += 120
        units = self._units(request)
        t = self.clock.to_real(self.w[mask])
        res = self._officers(request, units, mask)
        ch = self.cit_channel[mask]
        self._emit(mask, request, t, units, channel=ch, actor=ACT["officer"], resource=res)
        quits = mask & (self.rng.random(self.n) < self.profile.withdraw_on_supplement)
        self._citizen_after_days(quits, withdraw, 5.0, outcome=OUT["withdrawn"])
        self.alive &= ~quits
        goes_on = mask & ~quits
        self._citizen_after_days(goes_on, answer, 2.5)
        self.officer_step(origin, goes_on, self.profile.timings.get(origin.code, Timing(2, 10)))

    def _citizen_after_days(self, mask, step: Step, days: float, outcome: int = 0) -> None:
        units = self._units(step)
        online = self.online[mask]
        t_online = self.clock.to_real(self.w[mask]) + self._lognormal(days * 86_400, mask, 0.8)
        w_office = self.w[mask] + self._lognormal(days * 8 * HOUR, mask, 0.8)
        t = np.where(online, t_online, self.clock.to_real(w_office))
        self.w[mask] = np.where(online, self.clock.to_office(t), w_office)
        ch = self.cit_channel[mask]
        self._emit(mask, step, t, units, channel=ch, actor=ACT["citizen"], outcome=outcome)

    # --- the walk -------------------------------------------------------------------------
    def run(self) -> None:
        proc, prof, p = self.proc, self.profile, self.planted
        first = proc.steps[0]
        units = self._units(first)
        all_ = np.ones(self.n, bool)
        self._emit(
            all_,
            first,
            self.t0,
            units,
            channel=self.cit_channel,
            actor=ACT["citizen"],
            attrs=self._submission_attrs(),
        )
        for step in proc.steps[1:]:
            if step.kind is StepKind.supplement or step.code == "withdraw":
                continue
            if step.kind is StepKind.result:
                self.result_step(step)
                continue
            mask = self.alive & ~self.rejected & self.include[step.code]
            if step.code == "pay_fee":
                ch = self.citizen_step(step, mask, attrs=None)
                self._payment_attrs(mask, ch)
            elif step.actor.value == "citizen":
                self.citizen_step(step, mask)
            else:
                self.officer_step(step, mask, prof.timings.get(step.code, Timing(2, 10)))
            if step.code == "receive":
                refused = mask & (self.rng.random(self.n) < prof.refuse)
                self._mark_last_outcome(refused, OUT["rejected"])
                self.alive &= ~refused
            if proc.code == p.removable_procedure and step.code == p.removable_step:
                failed = mask & (self.rng.random(self.n) < p.removable_failure)
                self.supplement_round(failed & self.alive, step)
            if step.code == prof.supplement_after:
                asked = self.alive & (self.rng.random(self.n) < prof.supplement)
                while asked.any():
                    self.supplement_round(asked, step)
                    asked = asked & self.alive & (self.rng.random(self.n) < prof.supplement_again)
            if step.code == prof.reject_after:
                self.rejected |= self.alive & (self.rng.random(self.n) < prof.reject)

    def _mark_last_outcome(self, mask: np.ndarray, outcome: int) -> None:
        """Set the outcome of the event just emitted for these dossiers (refusal at intake)."""
        last = self.buf.cols["outcome"][-1]
        cases = self.buf.cols["case"][-1]
        last[np.isin(cases, self.case[mask])] = outcome

    def result_step(self, step: Step) -> None:
        mask = self.alive
        k = int(mask.sum())
        units = self._units(step)
        u = self.rng.random(k)
        online = self.online[mask]
        if step.paper and step.requires_presence:
            channel = np.full(k, CH["counter"])
        elif step.paper:
            channel = np.where(u < np.where(online, 0.6, 0.15), CH["postal"], CH["counter"])
        else:
            channel = np.where(
                online | (u < 0.2), CH["online"], np.where(u < 0.3, CH["postal"], CH["counter"])
            )
        channel = channel.astype(np.int8)
        timing = self.profile.timings.get(step.code, Timing(1))
        self.w[mask] += self._lognormal(timing.wait_h * HOUR, mask)
        pickup = channel == CH["counter"]
        self.w[mask] += np.where(pickup, self._lognormal(8 * HOUR, mask), 0)
        t = self.clock.to_real(self.w[mask])
        res = self._officers(step, units, mask)
        outcome = np.where(self.rejected[mask], OUT["rejected"], OUT["approved"])
        attrs = self._result_attrs(step, channel, outcome)
        self._emit(
            mask,
            step,
            t,
            units,
            channel=channel,
            actor=ACT["officer"],
            resource=res,
            outcome=outcome,
            attrs=attrs,
        )

    # --- attributes ---------------------------------------------------------------------
    def _deadline_days(self) -> np.ndarray:
        base = self.proc.deadline_working_days
        longer = self.proc.deadline_working_days_verification
        verify = self.proc.step("verify_with_agencies")
        if longer is not None and verify is not None:
            return np.where(self.include[verify.code], longer, base)
        return np.full(self.n, base)

    def _submission_attrs(self) -> np.ndarray:
        cal = self.calendar
        t = self.t0
        day = t.astype("datetime64[s]").astype("datetime64[D]")
        first = cal.roll_forward(day)
        late = (first == day) & ((t % 86_400) >= cal.cutoff_hour * HOUR)
        n_days = self._deadline_days()
        n_eff = np.where(n_days > 0, n_days, late.astype(int))
        due = cal.offset_days(day, n_eff).astype("datetime64[s]") + np.timedelta64(86_399, "s")
        due_s = _as_iso(due)
        out = np.empty(self.n, dtype=object)
        for i, (dg, vn, dr, dd) in enumerate(
            zip(
                self.digitised.tolist(),
                self.vneid.tolist(),
                self.data_reused.tolist(),
                due_s,
                strict=True,
            )
        ):
            out[i] = orjson.dumps(
                {"digitised": dg, "vneid_verified": vn, "data_reused": dr, "due_date": str(dd)}
            ).decode()
        return out

    def _payment_attrs(self, mask: np.ndarray, channel: np.ndarray) -> None:
        if not mask.any():
            return
        fee = self.profile.fee_vnd
        values = np.array(
            [
                f'{{"fee_paid_online":{"true" if c == CH["online"] else "false"},"fee_vnd":{fee}}}'
                for c in channel.tolist()
            ],
            dtype=object,
        )
        seq = self.buf.cols["seq"][-1]
        self.buf.attrs.append((seq, values))

    def _result_attrs(self, step: Step, channel: np.ndarray, outcome: np.ndarray) -> np.ndarray:
        k = len(channel)
        e_result = ~np.full(k, step.paper) | (self.rng.random(k) < self.profile.e_result_paper)
        rated = (self.rng.random(k) < 0.3) & (outcome == OUT["approved"])
        score = self.rng.choice(5, k, p=_SATISFACTION_P) + 1
        complaint = self.rng.random(k) < 0.01
        business = self.proc.code == "2.001610"
        codes = self.rng.integers(10**9, 10**10, k)
        out = np.empty(k, dtype=object)
        for i in range(k):
            a: dict[str, object] = {"e_result": bool(e_result[i]), "complaint": bool(complaint[i])}
            if rated[i]:
                a["satisfaction"] = int(score[i])
            if business and outcome[i] == OUT["approved"]:
                a["enterprise_code"] = str(codes[i])
            out[i] = orjson.dumps(a).decode()
        return out


def run_walk(walk: ProcedureWalk) -> None:
    walk.run()


def local_seconds(moment: datetime) -> int:
    return int(np.datetime64(moment.replace(tzinfo=None), "s").astype(np.int64))
