"""Reliability table: each bad input tried and how it ended; each injected fault and whether it was survived.

    .venv/bin/python scripts/reliability_report.py

Inputs come from the bad-input matrix (tests/fixtures/bad_inputs.py), each run
through the chain (profile piano-ltas) without Prefect. "handled" means restored,
"failed clearly" means a Shellac error naming the reason; anything else would be
a defect and makes the script exit 1. Attacks are issue 17's unlucky-archive and
attacker cases (tests/fixtures/attacks.py: outputs among masters, changed masters,
restore over masters, oversized or malformed catalogs, links, devices, corrupt state),
each run here with its tracebacks counted and every master hashed before and after
each step. Faults are the fault-injection tests (tests/stages/test_faults.py: kill -9
mid-restoration and mid-write, disk full, corrupt model, concurrent runs, corrupt
state, interrupted runs), run by pytest, one row each.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shellac.catalogs import load_catalog  # noqa: E402
from shellac.engine.errors import ShellacError  # noqa: E402
from shellac.engine.fixity import sha256_file  # noqa: E402
from shellac.jobs import build_job  # noqa: E402
from shellac.stages.chain import job_plan, run_plan  # noqa: E402
from tests.fixtures.attacks import ATTACKS, run_attack  # noqa: E402
from tests.fixtures.bad_inputs import matrix, write_catalog  # noqa: E402

FAULTS = {
    "test_kill_9_during_generative_eq_resumes_to_identical_output":
        "kill -9 during generative EQ → rerun resumes at the next block, output bytes identical",
    "test_kill_9_during_write_never_exposes_a_partial_file":
        "kill -9 during a file write (4 random times) → no partial file ever visible",
    "test_disk_full_is_a_clear_error_and_state_stays_intact":
        "disk full while writing → AudioWriteError, state.json intact, rerun completes",
    "test_corrupt_model_fails_the_recording_with_model_loading_error":
        "corrupt model weights → ModelLoadingError for that recording",
    "test_two_concurrent_runs_never_process_a_recording_twice":
        "two runs on one catalog at once → no stage run twice, state never clobbered",
    "test_disk_full_reported_by_libsndfile_names_the_disk_and_the_path[0]":
        "disk full reported by libsndfile as 'System error.' → AudioWriteError naming the disk and path",
    "test_corrupt_state_json_fails_only_its_recording":
        "unreadable state.json → only that recording failed; status and report still work",
    "test_killed_run_is_reported_interrupted_and_its_lock_reclaimed":
        "run killed, state left 'running' → reported interrupted, lock reclaimed; busy holder named",
}


def attack_rows() -> tuple[list[tuple[str, str, str, int, int, int]], bool]:
    """(item, case, outcome, exit status, tracebacks, masters changed) per attack; all as expected?"""
    rows, ok = [], True
    for attack in ATTACKS:
        with tempfile.TemporaryDirectory() as tmp:
            result = run_attack(attack, Path(tmp))
        lines = [line for line in result.output.splitlines() if attack.expect in line]
        expected = bool(lines) and result.exit_code == attack.exit_code
        ok &= expected and result.tracebacks == 0 and not result.masters_changed
        outcome = (lines[0].strip() if lines else result.output.strip()[-160:]).replace("|", "/")
        rows.append((attack.item, attack.name, ("" if expected else "UNEXPECTED: ") + outcome[:140],
                     result.exit_code, result.tracebacks, len(result.masters_changed)))
    return rows, ok


def input_rows() -> tuple[list[tuple[str, str, str, str]], bool]:
    """(input, expected, outcome, reason) per bad input; and whether all ended as expected."""
    rows, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        cases = matrix()
        catalog = load_catalog(write_catalog(Path(tmp), cases))
        for error in catalog.errors:
            rows.append((f"catalog row {error.line}", "rejected", "rejected", error.reason))
        for index, case in enumerate(cases):
            rec = catalog.get(f"case{index:02d}")
            master = catalog.master_path(rec)
            before = sha256_file(master) if master.exists() else None
            job = build_job(catalog, rec)
            try:
                run_plan(job, job_plan(job))
                outcome, reason = "handled", "restored"
            except ShellacError as exc:
                outcome, reason = "failed clearly", str(exc)
            except Exception as exc:  # noqa: BLE001 - a defect to report, not to hide
                outcome, reason = "UNEXPECTED", f"{type(exc).__name__}: {exc}"
            expected = "handled" if case.expect == "ok" else "failed clearly"
            unchanged = before is None or sha256_file(master) == before
            ok &= outcome == expected and unchanged and (expected == "handled" or case.expect in reason)
            rows.append((case.name, expected, outcome + ("" if unchanged else ", MASTER CHANGED"), reason))
    return rows, ok


def fault_rows() -> tuple[list[tuple[str, str]], bool]:
    """(fault, result) per fault-injection test."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
         "tests/stages/test_faults.py"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    rows, ok = [], True
    for name, description in FAULTS.items():
        passed = any(line.startswith("PASSED") and name in line for line in proc.stdout.splitlines())
        ok &= passed
        rows.append((description, "survived" if passed else "FAILED (see pytest output)"))
    return rows, ok


def main() -> int:
    inputs, inputs_ok = input_rows()
    print("| input | expected | outcome | reason |\n|---|---|---|---|")
    for name, expected, outcome, reason in inputs:
        print(f"| {name} | {expected} | {outcome} | {reason[:110]} |")
    attacks, attacks_ok = attack_rows()
    print("\n| issue | attack | outcome (first line naming it) | exit | tracebacks | masters changed |\n"
          "|---|---|---|---|---|---|")
    for item, name, outcome, code, tracebacks, changed in attacks:
        print(f"| {item} | {name} | {outcome} | {code} | {tracebacks} | {changed} |")
    faults, faults_ok = fault_rows()
    print("\n| fault injected | result |\n|---|---|")
    for description, result in faults:
        print(f"| {description} | {result} |")
    handled = sum(o == "handled" for _, _, o, _ in inputs)
    clear = sum(o in ("failed clearly", "rejected") for _, _, o, _ in inputs)
    print(f"\n{len(inputs)} inputs: {handled} handled, {clear} failed clearly or rejected, "
          f"{len(inputs) - handled - clear} other; {sum(r == 'survived' for _, r in faults)} of "
          f"{len(faults)} faults survived")
    print(f"{len(attacks)} attacks: {sum(not o.startswith('UNEXPECTED') for _, _, o, _, _, _ in attacks)} "
          f"ended as expected; {sum(r[4] for r in attacks)} tracebacks; "
          f"{sum(r[5] for r in attacks)} masters changed")
    return 0 if inputs_ok and faults_ok and attacks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
