"""Benchmark: the early-warning model's quality and cost, against the at-risk rule and the
published remaining-time results.

    .venv/bin/python benchmarks/bench_warning.py                 # generated log + BPIC15_1-3
    .venv/bin/python benchmarks/bench_warning.py --logs BPIC15_1 --no-generated

Generated log: 6,000 dossiers of every catalog procedure (seed 11); per procedure, the
quality card of ``mining.warning.quality`` (train on dossiers received before the cut and
finished by then, test on the 20 % received after, at 25/50/75 % of the deadline).

Procedures with fewer than ``warning_pool_below_late`` late finished dossiers also get the
pooled model's card (one model on every procedure, tested on that procedure's dossiers).

Real anchor (model selection on validation only): the case attributes, the bag size and the
target transform are chosen on a validation split carved from the training cases (the last
20 % of them by start; ``mining.warning.quality.select_on_validation``), then the chosen
configuration is retrained on every training case and scored once on the test cases.

BPIC 2015 building permits of five Dutch municipalities (files 1-3 of
``../shared/real_logs``), imported through dvcflow's own XES importer. Remaining time in
calendar days under the published protocol (PGTNet's ``GTconvertor.py``: cases sorted by
start, the first 80 % train whatever their end, the last 20 % test, MAE over every prefix
of length 2 .. n-1 of the test cases), and under ours (trained only on cases ended by the
cut: what a model trained that day could know); the deadline-violation AUC for the 8-week
legal term (56 calendar days) against the rule at 25/50/75 % of the term. Published MAE
(days): DALSTM and PGTNet as reported by the PGTNet paper (Amiri Elyasi et al., 2024).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from dvcflow.settings import get_settings  # noqa: E402
from ingest.importers import ImportOptions, import_file  # noqa: E402
from ingest.store import EventStore  # noqa: E402
from mining.filters import LogFilter  # noqa: E402
from mining.log import load_log  # noqa: E402
from mining.warning.model import ModelOptions  # noqa: E402
from mining.warning.quality import (  # noqa: E402
    evaluate,
    evaluate_each,
    select_on_validation,
    with_attributes,
)
from mining.warning.timeline import add_case_attributes, read_timeline  # noqa: E402
from sample_logs.generator import generate  # noqa: E402

# the benchmark's own throwaway store: any key pseudonymises its applicant ids
os.environ.setdefault("DVCFLOW_PSEUDONYM_KEY", secrets.token_hex(16))
REAL = REPO.parent / "shared" / "real_logs"
PUBLISHED = {  # MAE in days: (DALSTM, PGTNet)
    "BPIC15_1": (29.26, 20.36),
    "BPIC15_2": (47.00, 37.92),
    "BPIC15_3": (15.12, 15.57),
}
TERM_DAYS = 56  # the Dutch Wabo permit's 8-week legal term
# trace attributes known when a permit case starts (PGTNet also feeds caseStatus and
# last_phase, which are only known at the end: left out here). The candidate sets tried on
# the validation split (``select_on_validation``); the test cases never choose among them.
CANDIDATE_ATTRIBUTES: tuple[tuple[str, ...], ...] = (
    (),
    ("Responsible_actor",),
    ("SUMleges",),
    ("parts",),
    ("Responsible_actor", "SUMleges"),
)
BAGS = (40, 100)  # activities in the bag of counts
TARGETS = (True, False)  # remaining time fitted on log(1 + days), or on days


def _f(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def real_log(name: str, workdir: Path) -> dict:
    store = EventStore(workdir / name / "data")
    began = time.perf_counter()
    import_file(REAL / f"{name}.xes.gz", store, ImportOptions(procedure=name))
    imported = time.perf_counter() - began
    con = load_log(store, LogFilter(procedure=name))
    tl = read_timeline(con, None, term_days=TERM_DAYS, working=False)
    add_case_attributes(tl, store, name, sorted({a for c in CANDIDATE_ATTRIBUTES for a in c}))
    began = time.perf_counter()
    selection = select_on_validation(tl, CANDIDATE_ATTRIBUTES, BAGS, TARGETS)
    selecting = time.perf_counter() - began
    chosen = selection.chosen
    tl = with_attributes(tl, chosen.attributes)
    published = selection.test
    opts = ModelOptions(top_activities=chosen.top_activities, log_target=chosen.log_target)
    card = evaluate(tl, options=opts)
    return {
        "name": name,
        "card": card,
        "published": published,
        "selection": selection,
        "select_s": selecting,
        "import_s": imported,
        "cases": len(tl.dossiers),
    }


def generated(workdir: Path, cases: int, pool_below: int) -> list[tuple[str, object, object]]:
    """Per procedure: its own model's card, and the pooled model's card on its dossiers
    when it has fewer than ``pool_below`` late finished dossiers (what the product does)."""
    from sample_logs.catalog import load_catalog

    out = generate("all", cases, 11, workdir / "gen")
    store = EventStore(workdir / "gen-data")
    import_file(out.paths["parquet"], store)
    catalog = load_catalog()
    deadlines = {c: p.deadline_working_days for c, p in catalog.items()}
    few = []
    own: dict[str, object] = {}
    for code, proc in sorted(catalog.items()):
        con = load_log(store, LogFilter(procedure=code))
        tl = read_timeline(con, proc.deadline_working_days)
        done = tl.outcomes["finished"].to_numpy(bool)
        if np.nansum(tl.outcomes["late"].to_numpy(float)[done]) < pool_below:
            few.append(code)
        try:
            own[code] = evaluate(tl)
        except Exception as exc:  # too few dossiers of a rare procedure
            own[code] = exc
    pooled: dict = {}
    if few:
        tl = read_timeline(load_log(store, LogFilter()), deadlines)
        pooled = evaluate_each(tl, method="pooled", procedures=few)
    return [(code, own[code], pooled.get(code)) for code in sorted(own)]


def print_card(title: str, card) -> None:
    print(
        f"\n{title}: trained on {card.train_dossiers} dossiers, tested on "
        f"{card.test_dossiers} (cut {card.cut:%Y-%m-%d}), training {card.fit_seconds:.1f} s, "
        f"training + scoring every test point {card.training_seconds:.1f} s"
    )
    print(
        "| point | open | late | AUC model | AUC rule | Brier model | Brier rule "
        "| recall rule | precision rule | precision model at rule recall |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for p in card.points:
        print(
            f"| {p.share:.0%} | {p.dossiers} | {p.late} | {_f(p.auc_model)} | "
            f"{_f(p.auc_rule)} | {_f(p.brier_model)} | {_f(p.brier_rule)} | "
            f"{_f(p.recall_rule, 2)} | {_f(p.precision_rule, 2)} | "
            f"{_f(p.precision_model_at_rule_recall, 2)} |"
        )
    lt = card.lead_time
    if lt:
        print(
            f"lead time (mean over {lt.late_dossiers} late): model {lt.model_days:.2f} d "
            f"(warned {lt.model_warned_share:.0%}, false alarms {lt.model_false_alarm_share:.0%}"
            f"), rule {lt.rule_days:.2f} d (warned {lt.rule_warned_share:.0%}, false alarms "
            f"{lt.rule_false_alarm_share:.0%})"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--logs", default="BPIC15_1,BPIC15_2,BPIC15_3")
    ap.add_argument("--no-generated", action="store_true")
    ap.add_argument("--cases", type=int, default=6000, help="generated dossiers")
    args = ap.parse_args()
    pool_below = get_settings().warning_pool_below_late
    with tempfile.TemporaryDirectory(prefix="dvcflow-bench-warning-") as tmp:
        work = Path(tmp)
        if not args.no_generated:
            print(f"## Generated log ({args.cases} dossiers, every catalog procedure)")
            summary = []
            for code, card, pooled in generated(work, args.cases, pool_below):
                if isinstance(card, Exception):
                    print(f"\n{code}: no quality card ({card})")
                    continue
                print_card(f"{code} (own model)", card)
                if pooled is not None:
                    print_card(f"{code} (pooled model, the product's choice)", pooled)
                summary.append((code, card, pooled))
            print(
                "\n| procedure | late test dossiers | AUC 25/50/75 %: own / pooled / rule "
                "| Brier 50 %: own / pooled / rule | lead days: own / pooled / rule |"
            )
            print("|---|---|---|---|---|")
            for code, card, pooled in summary:
                cells = [
                    f"{_f(p.auc_model, 2)} / "
                    f"{_f(pooled.points[j].auc_model, 2) if pooled else '–'} / "
                    f"{_f(p.auc_rule, 2)}"
                    for j, p in enumerate(card.points)
                ]
                mid = card.points[1]
                brier = (
                    f"{_f(mid.brier_model)} / "
                    f"{_f(pooled.points[1].brier_model) if pooled else '–'} / "
                    f"{_f(mid.brier_rule)}"
                )
                lt, plt = card.lead_time, pooled.lead_time if pooled else None
                lead = (
                    f"{lt.model_days:.2f} / {f'{plt.model_days:.2f}' if plt else '–'} / "
                    f"{lt.rule_days:.2f}"
                    if lt
                    else "–"
                )
                late = lt.late_dossiers if lt else "–"
                print(f"| {code} | {late} | {', '.join(cells)} | {brier} | {lead} |")
        rows = []
        for name in [n for n in args.logs.split(",") if n]:
            if not (REAL / f"{name}.xes.gz").exists():
                print(f"{name}: not found under {REAL}, skipped")
                continue
            r = real_log(name, work)
            rows.append(r)
            print_card(f"{name} (8-week term, calendar days)", r["card"])
        if rows:
            print(
                "\n## Remaining time, BPIC 2015 (MAE in days; published protocol: first 80 % "
                "of cases by start train, last 20 % test, every prefix of length 2..n-1)"
            )
            print(
                "| log | cases | prefixes | DALSTM | PGTNet | dvcflow | at or below PGTNet | "
                "dvcflow, trained only on cases ended by the cut | train (s) | score (s) |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|")
            for r in rows:
                c, pub = r["card"], r["published"]
                dalstm, pgt = PUBLISHED.get(r["name"], (None, None))
                ok = "yes" if pgt is not None and pub.mae_days <= pgt else "no"
                print(
                    f"| {r['name']} | {r['cases']} | {pub.prefixes} | {_f(dalstm, 2)} | "
                    f"{_f(pgt, 2)} | {pub.mae_days:.2f} | {ok} | {c.remaining_mae_days:.2f} | "
                    f"{pub.fit_seconds:.1f} | {pub.score_seconds:.1f} |"
                )
            print(
                "\n## Model selection on a validation split (the last 20 % by start of the "
                "training cases; the test cases never seen until the one final score)"
            )
            print(
                "| log | validation cases | chosen: attributes / bag / target | "
                "validation MAE chosen | test MAE | PGTNet | at or below PGTNet | "
                "selection (s) | final train (s) |"
            )
            print("|---|---|---|---|---|---|---|---|---|")
            for r in rows:
                sel, pub = r["selection"], r["published"]
                c = sel.chosen
                pgt = PUBLISHED.get(r["name"], (None, None))[1]
                ok = "yes" if pgt is not None and pub.mae_days <= pgt else "no"
                print(
                    f"| {r['name']} | {sel.validation_cases} | "
                    f"{', '.join(c.attributes) or 'none'} / {c.top_activities} / "
                    f"{'log(1 + days)' if c.log_target else 'days'} | "
                    f"{c.validation_mae_days:.2f} | {pub.mae_days:.2f} | {_f(pgt, 2)} | {ok} | "
                    f"{r['select_s']:.0f} | {pub.fit_seconds:.1f} |"
                )
            print("\nEvery configuration tried (validation MAE, days):")
            print("| log | attributes | bag | target | validation MAE | train (s) |")
            print("|---|---|---|---|---|---|")
            for r in rows:
                for c in r["selection"].tried:
                    print(
                        f"| {r['name']} | {', '.join(c.attributes) or 'none'} | "
                        f"{c.top_activities} | {'log' if c.log_target else 'days'} | "
                        f"{c.validation_mae_days:.2f} | {c.fit_seconds:.1f} |"
                    )
            print(
                "\n| log | violation AUC 25/50/75 % (model / rule) | Brier 50 % (model / rule) "
                "| train + score the card (s) |"
            )
            print("|---|---|---|---|")
            for r in rows:
                c = r["card"]
                aucs = ", ".join(f"{_f(p.auc_model, 2)} / {_f(p.auc_rule, 2)}" for p in c.points)
                mid = c.points[1]
                print(
                    f"| {r['name']} | {aucs} | {_f(mid.brier_model)} / {_f(mid.brier_rule)} | "
                    f"{c.training_seconds:.1f} |"
                )


if __name__ == "__main__":
    main()
