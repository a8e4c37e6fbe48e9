#!/usr/bin/env python3
"""The dashboard computed by DuckDB reading the same SQLite file: what a user
might pick instead of Tally. Prints the median of --runs with 1 and 2 threads,
and checks that DuckDB's numbers equal `tally dashboard`'s.

    pip install duckdb==1.5.5 duckdb-extension-sqlite-scanner==1.5.5
    python3 scripts/duckdb-dashboard.py tally-demo.sqlite [--runs 5] [--tally .build/release/tally]

One query per table (bookings by status and service type in one scan), as a
DuckDB user would write them.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import duckdb

QUERIES = {
    "users": "SELECT role, isActive, COUNT(*) FROM t.users GROUP BY ALL",
    "drivers": "SELECT isAvailable, COUNT(*), COUNT(rating), SUM(rating) FROM t.drivers GROUP BY ALL",
    "vehicles": "SELECT type, isAvailable, COUNT(*) FROM t.vehicles GROUP BY ALL",
    "bookings": "SELECT status, serviceType, COUNT(*) FROM t.bookings GROUP BY ALL",
    "payments": "SELECT status, COUNT(*), SUM(amount) FROM t.payments GROUP BY ALL",
    "modules": "SELECT isActive, COUNT(*) FROM t.modules GROUP BY ALL",
    "organizations": "SELECT COUNT(*) FROM t.organizations",
}


def scanner_path():
    """The sqlite_scanner extension shipped by the PyPI package (no download)."""
    import duckdb_extension_sqlite_scanner as package
    root = os.path.join(os.path.dirname(package.__file__), "extensions")
    for version in os.listdir(root):
        path = os.path.join(root, version, "sqlite_scanner.duckdb_extension")
        if os.path.exists(path):
            return path
    sys.exit("sqlite_scanner extension not found in " + root)


def dashboard(con):
    rows = {name: con.execute(sql).fetchall() for name, sql in QUERIES.items()}
    truthy = lambda v: v in (1, True)
    users = rows["users"]
    drivers = rows["drivers"]
    vehicles = rows["vehicles"]
    bookings = rows["bookings"]
    payments = rows["payments"]
    rated = sum(r[2] for r in drivers)
    rating_sum = sum(r[3] or 0 for r in drivers)
    by_status = {}
    by_service = {}
    for status, service, n in bookings:
        by_status[status] = by_status.get(status, 0) + n
        by_service[service] = by_service.get(service, 0) + n
    return {
        "users": {"total": sum(r[2] for r in users), "active": sum(r[2] for r in users if truthy(r[1]))},
        "drivers": {"total": sum(r[1] for r in drivers), "available": sum(r[1] for r in drivers if truthy(r[0])),
                    "rated": rated, "averageRating": round(rating_sum / rated, 6) if rated else None},
        "vehicles": {"total": sum(r[2] for r in vehicles), "available": sum(r[2] for r in vehicles if truthy(r[1]))},
        "bookings": {"total": sum(by_status.values()), "byStatus": by_status, "byServiceType": by_service},
        "payments": {"total": sum(r[1] for r in payments),
                     "byStatus": {r[0]: {"count": r[1], "amount": r[2]} for r in payments}},
        "modules": {"total": sum(r[1] for r in rows["modules"]),
                    "active": sum(r[1] for r in rows["modules"] if truthy(r[0])),
                    "organizations": rows["organizations"][0][0]},
    }


def tally_numbers(tally, db):
    out = subprocess.run([tally, "dashboard", "--db", db, "--format", "json", "--strategy", "single-pass"],
                         check=True, capture_output=True, text=True).stdout
    d = json.loads(out)
    return {
        "users": {"total": d["users"]["total"], "active": d["users"]["active"]},
        "drivers": {k: d["drivers"][k] for k in ("total", "available", "rated")}
        | {"averageRating": round(d["drivers"]["averageRating"], 6) if d["drivers"]["averageRating"] is not None else None},
        "vehicles": {"total": d["vehicles"]["total"], "available": d["vehicles"]["available"]},
        "bookings": {k: d["bookings"][k] for k in ("total", "byStatus", "byServiceType")},
        "payments": {"total": d["payments"]["total"], "byStatus": d["payments"]["byStatus"]},
        "modules": d["modules"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tally", default=".build/release/tally")
    args = parser.parse_args()

    extension = scanner_path()
    results = {}
    for threads in (1, 2):
        con = duckdb.connect(config={"threads": threads})
        con.execute(f"LOAD '{extension}'")
        con.execute(f"ATTACH '{args.db}' AS t (TYPE sqlite, READ_ONLY)")
        dashboard(con)  # warm-up (and the OS page cache)
        samples = []
        for _ in range(args.runs):
            start = time.perf_counter()
            answer = dashboard(con)
            samples.append((time.perf_counter() - start) * 1000)
        results[threads] = (statistics.median(samples), min(samples), max(samples), answer)
        con.close()
        print(f"duckdb {duckdb.__version__}, {threads} thread(s): median {results[threads][0]:.1f} ms "
              f"(min {results[threads][1]:.1f}, max {results[threads][2]:.1f}, {args.runs} runs)")

    if os.path.exists(args.tally):
        expected = tally_numbers(args.tally, args.db)
        got = results[2][3]
        same = json.dumps(expected, sort_keys=True) == json.dumps(got, sort_keys=True)
        print("numbers equal tally dashboard's:", "yes" if same else "NO")
        if not same:
            print(json.dumps(expected, sort_keys=True))
            print(json.dumps(got, sort_keys=True))
            sys.exit(1)


if __name__ == "__main__":
    main()
