"""How long the ``patronage`` command takes to start: ``--help`` and a few sub-command helps.

    .venv/bin/python benchmarks/cli_startup.py            # 10 runs of each
    .venv/bin/python benchmarks/cli_startup.py --runs 3   # quicker

Each command runs in a fresh interpreter (``python -c`` calling the console script's entry
point), as a shell would start it, and its wall time is taken from outside. ``python -c pass``
runs in the same rounds as the floor: what any Python program pays before its first import. The
runs are interleaved (one of each per round) so a busy machine slows them all alike. Prints the
minimum and the median wall time per command, how much the median adds to the floor, and the
median processor time (user + system) of the command's process, which a machine busy with other
work disturbs much less than the wall time.
"""

from __future__ import annotations

import argparse
import resource
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


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(args: list[str]) -> tuple[float, float] | None:
    """Wall and processor seconds of one run; ``None`` when the command failed (an older
    version without that option), said on standard error."""
    cpu, started = _cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    elapsed, used = time.perf_counter() - started, _cpu() - cpu
    if done.returncode != 0:
        print(f"{' '.join(args[2:])}: failed ({done.returncode}): "
              f"{done.stderr.decode(errors='replace').strip()}", file=sys.stderr)
        return None
    return elapsed, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (default 10)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs: at least 1")
    times: dict[str, list[float]] = {label: [] for label, _ in COMMANDS}
    cpu: dict[str, list[float]] = {label: [] for label, _ in COMMANDS}
    for _ in range(args.runs):
        for label, command in COMMANDS:
            timed = time_once(command)
            if timed is not None:
                times[label].append(timed[0])
                cpu[label].append(timed[1])
    floor = statistics.median(times["python -c pass"])
    print(f"{'command':36s} {'min':>8s} {'median':>8s} {'over floor':>11s} {'cpu':>8s}"
          f"  ({args.runs} runs)")
    for label, _ in COMMANDS:
        runs = times[label]
        if not runs:
            print(f"{label:36s} {'failed':>8s}")
            continue
        median = statistics.median(runs)
        print(f"{label:36s} {min(runs):7.3f}s {median:7.3f}s {median - floor:+10.3f}s "
              f"{statistics.median(cpu[label]):7.3f}s")


if __name__ == "__main__":
    main()
