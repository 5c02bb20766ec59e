"""How long the ``patronage`` command takes to start: ``--help`` and a few sub-command helps.

    .venv/bin/python benchmarks/cli_startup.py            # 10 runs of each
    .venv/bin/python benchmarks/cli_startup.py --runs 3   # quicker

Each command runs in a fresh interpreter (``python -c`` calling the console script's entry
point), as a shell would start it, and its wall time is taken from outside. ``python -c pass``
runs in the same rounds as the floor: what any Python program pays before its first import. The
runs are interleaved (one of each per round) so a busy machine slows them all alike. Prints the
minimum and the median per command, and how much each adds to the floor.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

ENTRY = "import sys; from patronage.cli.main import main; sys.argv[0] = 'patronage'; main()"

COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ("patronage --help", ["-c", ENTRY, "--help"]),
    ("patronage --version", ["-c", ENTRY, "--version"]),
    ("patronage plan show --help", ["-c", ENTRY, "plan", "show", "--help"]),
    ("patronage commissions run --help", ["-c", ENTRY, "commissions", "run", "--help"]),
    ("patronage care --help", ["-c", ENTRY, "care", "--help"]),
    ("patronage value fit --help", ["-c", ENTRY, "value", "fit", "--help"]),
]


def time_once(args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): "
                         f"{done.stderr.decode(errors='replace')}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (default 10)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs: at least 1")
    times: dict[str, list[float]] = {label: [] for label, _ in COMMANDS}
    for _ in range(args.runs):
        for label, command in COMMANDS:
            times[label].append(time_once(command))
    floor = statistics.median(times["python -c pass"])
    print(f"{'command':36s} {'min':>8s} {'median':>8s} {'over floor':>11s}  ({args.runs} runs)")
    for label, _ in COMMANDS:
        runs = times[label]
        median = statistics.median(runs)
        print(f"{label:36s} {min(runs):7.3f}s {median:7.3f}s {median - floor:+10.3f}s")


if __name__ == "__main__":
    main()
