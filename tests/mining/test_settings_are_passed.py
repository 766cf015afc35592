"""Settings reach mining as an argument (issue 20): no module under mining/ (nor the
calendar, catalog and names lookups it calls) reads the environment's ``get_settings()``;
the default for notebooks (``or_environment``) is taken only by public functions that
accept ``settings``; the CLI builds one Settings and never writes ``os.environ``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Being edited by other helpers this round (early warning, derived layer): they still read
# the environment inside; the list may only shrink.
PENDING = {
    "mining/warning/warn.py",
    "mining/warning/timeline.py",
    "mining/warning/reasons.py",
    "mining/derived/layer.py",
    "mining/derived/tables.py",
}


def _modules() -> list[Path]:
    files = sorted((ROOT / "mining").rglob("*.py"))
    files += [ROOT / "sample_logs" / n for n in ("workdays.py", "catalog.py", "names.py")]
    return files


def _names(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.alias):
            out.add(node.name)
    return out


def test_no_mining_module_reads_the_environment_settings():
    readers = {
        str(path.relative_to(ROOT))
        for path in _modules()
        if "get_settings" in _names(ast.parse(path.read_text()))
    }
    assert readers <= PENDING, sorted(readers - PENDING)


def test_the_notebook_default_is_taken_only_where_a_caller_can_pass_settings():
    wrong = []
    for path in _modules():
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, ast.FunctionDef):
                continue
            calls = [
                c
                for c in ast.walk(fn)
                if isinstance(c, ast.Call)
                and isinstance(c.func, ast.Name)
                and c.func.id == "or_environment"
            ]
            if not calls:
                continue
            params = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
            if fn.name.startswith("_") and fn.name != "__init__" or "settings" not in params:
                wrong.append(f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}")
    assert not wrong, wrong


def test_the_cli_builds_its_settings_and_never_writes_the_environment():
    for path in [
        ROOT / "dvcflow" / "cli.py",
        *sorted((ROOT / "dvcflow" / "commands").glob("*.py")),
    ]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    assert not (
                        isinstance(t, ast.Subscript) and "environ" in ast.unparse(t.value)
                    ), f"{path.name}:{node.lineno} writes os.environ"
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "get_settings":
                assert path.name == "common.py", f"{path.name}:{node.lineno} reads get_settings()"
