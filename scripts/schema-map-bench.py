#!/usr/bin/env python3
"""Tally on an app's own database, measured against its native schema.

    python3 scripts/schema-map-bench.py NATIVE.sqlite [--runs 7] [--tally .build/release/tally]

Builds a Prisma-shaped and a Django-shaped copy of NATIVE (scripts/orm-fixtures.py
shape: epoch-ms INTEGER and TEXT ids; ISO text timestamps and mixed REAL/INTEGER
decimals), then times, interleaved in one run so that every ratio has its baseline
measured alongside it:

- the single-pass dashboard (`--strategy single-pass --no-cache`) on each file, and on
  the Prisma file read with no conversion at all (a map of its columns as stored: wrong
  amounts, but the cost of reading its wider rows alone, which no conversion goes below);
- the rollup dashboard and monthly revenue on copies with rollups enabled (natively,
  and through each map), and how long `rollups enable` took.

Each figure is the median of the engine's own `meta.durationMs` over --runs runs.
The copies live in a temporary directory removed at the end.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(tally, args):
    out = subprocess.run([tally] + args, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"tally {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def duration(tally, args):
    return json.loads(run(tally, args + ["--no-cache", "--format", "json"]))["meta"]["durationMs"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("native")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tally", default=os.path.join(HERE, "..", ".build", "release", "tally"))
    options = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="tally-schema-map-bench-")
    try:
        files = {"native": (options.native, [])}
        for kind in ("prisma", "django"):
            path = os.path.join(directory, f"{kind}.sqlite")
            subprocess.run(
                [sys.executable, os.path.join(HERE, "orm-fixtures.py"), "shape", "--kind", kind, "--from", options.native, "--out", path],
                check=True, capture_output=True)
            files[kind] = (path, ["--schema-map", path + ".map.json"])

        # Rollups: a copy of each, enabled natively or through its map.
        rolled = {}
        enable_seconds = {}
        for name, (path, extra) in files.items():
            copy = os.path.join(directory, f"{name}-rollups.sqlite")
            shutil.copyfile(path, copy)
            started = time.monotonic()
            run(options.tally, ["rollups", "enable", "--db", copy, "--format", "json"] + extra)
            enable_seconds[name] = time.monotonic() - started
            rolled[name] = (copy, extra)

        cases = {
            "dashboard.single-pass": lambda path, extra: ["dashboard", "--db", path, "--strategy", "single-pass"] + extra,
            "revenue.month.single-pass": lambda path, extra: ["revenue", "--db", path, "--period", "month", "--strategy", "single-pass"] + extra,
        }
        rollup_cases = {
            "dashboard.rollup": lambda path, extra: ["dashboard", "--db", path, "--strategy", "rollup"] + extra,
            "revenue.month.rollup": lambda path, extra: ["revenue", "--db", path, "--period", "month", "--strategy", "rollup"] + extra,
        }
        # The Prisma file read with no conversion at all (every column as
        # stored: its amounts come out wrong, in major units): the cost of
        # reading its wider rows alone, which no conversion can go below.
        with open(files["prisma"][0] + ".map.json") as f:
            raw_map = json.load(f)
        for table in raw_map["tables"].values():
            if table:
                table["columns"] = {tally: (entry["column"] if isinstance(entry, dict) else entry) for tally, entry in table["columns"].items()}
        raw_map_path = os.path.join(directory, "prisma-as-stored.map.json")
        with open(raw_map_path, "w") as f:
            json.dump(raw_map, f)
        as_stored = (files["prisma"][0], ["--schema-map", raw_map_path])

        samples = {}
        for _ in range(options.runs):
            for case, make in cases.items():
                for name, (path, extra) in files.items():
                    samples.setdefault((case, name), []).append(duration(options.tally, make(path, extra)))
            samples.setdefault("as-stored", []).append(duration(options.tally, cases["dashboard.single-pass"](*as_stored)))
            for case, make in rollup_cases.items():
                for name, (path, extra) in rolled.items():
                    samples.setdefault((case, name), []).append(duration(options.tally, make(path, extra)))

        print(f"medians of {options.runs} runs (meta.durationMs), ratios against the native file in the same run\n")
        print(f"{'case':28} {'native ms':>10} {'prisma ms':>10} {'× native':>9} {'django ms':>10} {'× native':>9}")
        for case in list(cases) + list(rollup_cases):
            native = statistics.median(samples[(case, "native")])
            prisma = statistics.median(samples[(case, "prisma")])
            django = statistics.median(samples[(case, "django")])
            print(f"{case:28} {native:10.2f} {prisma:10.2f} {prisma / native:9.2f} {django:10.2f} {django / native:9.2f}")
        native = statistics.median(samples[("dashboard.single-pass", "native")])
        raw = statistics.median(samples["as-stored"])
        print(f"{'dashboard.single-pass, Prisma file read as stored (no conversion: the floor)':28} {raw:.2f} ms, {raw / native:.2f} × native")
        print()
        print("rollups enable: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in enable_seconds.items()))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
