"""``make fuzz``: every fuzz target for a bounded time, a summary of each run, and a failure
when any target crashed.

    python -m tests.fuzz.run [--seconds N] [TARGET ...]

Each target starts from its seeds (tests/fuzz/corpus/TARGET, never written to) and its
dictionary (tests/fuzz/dicts/TARGET.dict), grows a working corpus in a temporary directory, and
writes a crashing input to a temporary artifacts directory whose path, with the way to replay
it, is printed. A crash found this way belongs in the seeds, with a regression test in
tests/security/.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TARGETS = ("records", "strictjson", "conditional", "limit")
# libFuzzer's status lines ("#123 DONE cov: 45 ft: 67 corp: 8/900b ...") and final stats.
_STATUS = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/")
_STAT = re.compile(r"^stat::(\w+):\s+(\d+)")
_SHOWN = re.compile(r"^(#\d+\s+(INITED|DONE)|Done \d+ runs|INFO: Seed:|INFO: seed corpus:)")


@dataclass
class Run:
    """One target's run: libFuzzer's exit status and what it reported."""

    target: str
    status: int
    seconds: float
    execs: int = 0
    execs_per_second: int = 0
    coverage: int = 0
    features: int = 0
    corpus: int = 0
    new_units: int = 0
    peak_rss_mb: int = 0
    instrumented: int = 0  # feedsvc modules atheris instrumented: 0 would be blind fuzzing

    @property
    def ok(self) -> bool:
        """No crash, and coverage feedback from our own code."""
        return self.status == 0 and self.instrumented > 0


def fuzz(target: str, seconds: int, artifacts: Path, log: Path) -> Run:
    """Run one target's fuzzer for ``seconds``; its whole output goes to ``log``."""
    artifacts.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{target}-") as work:
        command = [
            sys.executable,
            str(HERE / f"fuzz_{target}.py"),
            f"-max_total_time={seconds}",
            "-timeout=10",  # one input taking 10 s is a hang: a crash like any other
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
            f"-artifact_prefix={artifacts}/",
            f"-dict={HERE / 'dicts' / f'{target}.dict'}",
            work,  # the first directory is the one libFuzzer adds new inputs to
            str(HERE / "corpus" / target),
        ]
        started = time.monotonic()
        with log.open("wb") as out:
            done = subprocess.run(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        run = Run(target, done.returncode, time.monotonic() - started)
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("INFO: Instrumenting feedsvc"):
            run.instrumented += 1
        elif match := _STATUS.match(line):
            run.execs, run.coverage, run.features, run.corpus = (
                int(match[1]), int(match[3]), int(match[4]), int(match[5])
            )  # fmt: skip
        elif match := _STAT.match(line):
            name, value = match[1], int(match[2])
            if name == "number_of_executed_units":
                run.execs = value
            elif name == "average_exec_per_sec":
                run.execs_per_second = value
            elif name == "new_units_added":
                run.new_units = value
            elif name == "peak_rss_mb":
                run.peak_rss_mb = value
    return run


def report_failure(run: Run, artifacts: Path, log: Path) -> None:
    """The end of the failing run's output (the Python traceback) and how to replay it."""
    if run.status == 0:
        print(f"\n--- {run.target}: no feedsvc module was instrumented (imported too early?)")
        return
    lines = log.read_text(errors="replace").splitlines()
    print(f"\n--- {run.target}: libFuzzer exited {run.status}; the end of its output:")
    print("\n".join(line for line in lines[-60:] if not line.startswith("INFO: Instrumenting")))
    for crash in sorted(artifacts.iterdir()):
        print(f"replay: python tests/fuzz/fuzz_{run.target}.py {crash}")
        print(f"then copy it to tests/fuzz/corpus/{run.target}/ and add a test in tests/security/")


def main(argv: list[str] | None = None) -> int:
    """Fuzz each target named (all by default); 1 when any crashed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30, help="per target (default 30)")
    parser.add_argument("targets", nargs="*", help=f"any of {', '.join(TARGETS)} (all)")
    args = parser.parse_args(argv)
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"no target {', '.join(sorted(unknown))}; the targets are {TARGETS}")
    root = Path(tempfile.mkdtemp(prefix="feedsvc-fuzz-"))
    runs = []
    for target in args.targets or TARGETS:
        print(f"fuzzing {target} for {args.seconds} s ...", flush=True)
        artifacts, log = root / target, root / f"{target}.log"
        run = fuzz(target, args.seconds, artifacts, log)
        runs.append(run)
        for line in log.read_text(errors="replace").splitlines():
            if _SHOWN.match(line):
                print(f"  {line}")  # libFuzzer's own account: start, end, executions
        if not run.ok:
            report_failure(run, artifacts, log)
    print(f"\n{'target':<12} {'modules':>7} {'execs':>10} {'execs/s':>8} {'cov':>6} {'ft':>7}"
          f" {'corpus':>7} {'new':>6} {'rss MB':>7} {'result':>7}")  # fmt: skip
    for r in runs:
        print(
            f"{r.target:<12} {r.instrumented:>7} {r.execs:>10} {r.execs_per_second:>8} "
            f"{r.coverage:>6} {r.features:>7} {r.corpus:>7} {r.new_units:>6} {r.peak_rss_mb:>7} "
            f"{'ok' if r.ok else 'CRASH' if r.status else 'BLIND':>7}"
        )
    if not all(r.ok for r in runs):
        print(f"(logs and crashing inputs in {root})")
        return 1
    shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
