"""Benchmark: the early-warning model's quality and cost, against the at-risk rule and the
published remaining-time results.

    .venv/bin/python benchmarks/bench_warning.py                 # generated log + BPIC15_1-3
    .venv/bin/python benchmarks/bench_warning.py --logs BPIC15_1 --no-generated

Generated log: 6,000 dossiers of every catalog procedure (seed 11); per procedure, the
quality card of ``mining.warning.quality`` (train on dossiers received before the cut and
finished by then, test on the 20 % received after, at 25/50/75 % of the deadline).

Real anchor: BPIC 2015 building permits of five Dutch municipalities (files 1-3 of
``../shared/real_logs``), imported through dvcflow's own XES importer. Chronological 80/20
split by case start; the model learns only from cases that ended before the cut (what a
model trained that day could know: no event of the test period leaks into training);
remaining time in calendar days, mean absolute error over every prefix of the test cases
(after each event but the last); the deadline-violation AUC for the 8-week legal term
(56 calendar days) against the rule at 25/50/75 % of the term. Published MAE (days):
DALSTM and PGTNet as reported by the PGTNet paper (Elyasi et al., 2024).
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

from ingest.importers import ImportOptions, import_file  # noqa: E402
from ingest.store import EventStore  # noqa: E402
from mining.filters import LogFilter  # noqa: E402
from mining.log import load_log  # noqa: E402
from mining.warning.quality import evaluate  # noqa: E402
from mining.warning.timeline import read_timeline  # noqa: E402

# the benchmark's own throwaway store: any key pseudonymises its applicant ids
os.environ.setdefault("DVCFLOW_PSEUDONYM_KEY", secrets.token_hex(16))
REAL = REPO.parent / "shared" / "real_logs"
PUBLISHED = {  # MAE in days: (DALSTM, PGTNet)
    "BPIC15_1": (29.26, 20.36),
    "BPIC15_2": (47.00, 37.92),
    "BPIC15_3": (15.12, 15.57),
}
TERM_DAYS = 56  # the Dutch Wabo permit's 8-week legal term


def _f(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def real_log(name: str, workdir: Path) -> dict:
    store = EventStore(workdir / name / "data")
    began = time.perf_counter()
    import_file(REAL / f"{name}.xes.gz", store, ImportOptions(procedure=name))
    imported = time.perf_counter() - began
    con = load_log(store, LogFilter(procedure=name))
    tl = read_timeline(con, None, term_days=TERM_DAYS, working=False)
    card = evaluate(tl)
    return {"name": name, "card": card, "import_s": imported, "cases": len(tl.dossiers)}


def generated(workdir: Path, cases: int) -> list[tuple[str, object]]:
    from sample_logs.catalog import load_catalog
    from sample_logs.generator import generate

    out = generate("all", cases, 11, workdir / "gen")
    store = EventStore(workdir / "gen-data")
    import_file(out.paths["parquet"], store)
    cards = []
    for code, proc in sorted(load_catalog().items()):
        con = load_log(store, LogFilter(procedure=code))
        tl = read_timeline(con, proc.deadline_working_days)
        try:
            cards.append((code, evaluate(tl)))
        except Exception as exc:  # too few dossiers of a rare procedure
            cards.append((code, exc))
    return cards


def print_card(title: str, card) -> None:
    print(
        f"\n{title}: trained on {card.train_dossiers} dossiers, tested on "
        f"{card.test_dossiers} (cut {card.cut:%Y-%m-%d}), {card.training_seconds:.1f} s "
        "(train + score every test point)"
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
    with tempfile.TemporaryDirectory(prefix="dvcflow-bench-warning-") as tmp:
        work = Path(tmp)
        if not args.no_generated:
            print(f"## Generated log ({args.cases} dossiers, every catalog procedure)")
            for code, card in generated(work, args.cases):
                if isinstance(card, Exception):
                    print(f"\n{code}: no quality card ({card})")
                else:
                    print_card(code, card)
        rows = []
        for name in [n for n in args.logs.split(",") if n]:
            if not (REAL / f"{name}.xes.gz").exists():
                print(f"{name}: not found under {REAL}, skipped")
                continue
            r = real_log(name, work)
            rows.append(r)
            print_card(f"{name} (8-week term, calendar days)", r["card"])
        if rows:
            print("\n## Remaining time, BPIC 2015 (MAE in days, chronological 80/20 by case start)")
            print(
                "| log | cases | DALSTM | PGTNet | dvcflow | at or below PGTNet | "
                "violation AUC 25/50/75 % (model / rule) | train + evaluate (s) |"
            )
            print("|---|---|---|---|---|---|---|---|")
            for r in rows:
                c = r["card"]
                dalstm, pgt = PUBLISHED.get(r["name"], (None, None))
                aucs = ", ".join(f"{_f(p.auc_model, 2)} / {_f(p.auc_rule, 2)}" for p in c.points)
                ok = "yes" if pgt is not None and c.remaining_mae_days <= pgt else "no"
                print(
                    f"| {r['name']} | {r['cases']} | {_f(dalstm, 2)} | {_f(pgt, 2)} | "
                    f"{c.remaining_mae_days:.2f} | {ok} | {aucs} | {c.training_seconds:.1f} |"
                )


if __name__ == "__main__":
    main()
