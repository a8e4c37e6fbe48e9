#!/usr/bin/env python3
"""Tally under live writes: `tally serve` answering /api/dashboard to wrk while
another process commits N times a second (each commit: one booking status
update and one payment insert, as a booking platform writes).

    python3 scripts/live-bench.py tally-demo.sqlite [--rates 0 5 50] [--seconds 20] [--without-rollups]

Works on a copy of the file (in --workdir, default the system's temporary
directory), with rollups enabled on it; --without-rollups also runs each rate
with them disabled (every commit then makes the next answer a full scan).
A checker process requests the dashboard throughout and counts answers that
miss a commit which had finished before the request was sent
(`payments.total` must be at least the total after the last commit logged):
it must be 0.

Needs: a release build (`swift build -c release`), wrk, python3.
"""
import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

WRITER = r"""
import random, sqlite3, sys, time
path, rate, seconds, log = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
c = sqlite3.connect(path, isolation_level=None, timeout=30)
c.execute('PRAGMA synchronous = NORMAL')
bookings = c.execute('SELECT MAX(id) FROM bookings').fetchone()[0] or 1
rng = random.Random(42)
out = open(log, 'w')
start, n = time.monotonic(), 0
while True:
    target = start + n / rate
    now = time.monotonic()
    if target - start >= seconds:
        break
    if target > now:
        time.sleep(target - now)
    c.execute('BEGIN IMMEDIATE')
    c.execute('UPDATE bookings SET status = ? WHERE id = ?',
              (rng.choice(['PENDING', 'CONFIRMED', 'IN_PROGRESS', 'COMPLETED', 'CANCELLED']), rng.randrange(1, bookings + 1)))
    c.execute("INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (?, ?, 'COMPLETED', ?)",
              (rng.randrange(1, bookings + 1), rng.randrange(500, 20000), int(time.time() * 1000)))
    c.execute('COMMIT')
    n += 1
    out.write('%d\n' % n)
    out.flush()
"""

CHECKER = r"""
import http.client, json, sys, time
port, base, seconds, log = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
def committed():
    try:
        lines = open(log).read().split()
        return int(lines[-1]) if lines else 0
    except FileNotFoundError:
        return 0
conn = http.client.HTTPConnection('127.0.0.1', port)
checks = stale = 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    floor = committed()
    conn.request('GET', '/api/dashboard')
    body = json.loads(conn.getresponse().read())
    checks += 1
    if body['payments']['total'] < base + floor:
        stale += 1
print(json.dumps({'checks': checks, 'stale': stale}))
"""


def serve(tally, db, extra=()):
    """`tally serve` on a free port (with `extra` options); its process and port."""
    process = subprocess.Popen([tally, "serve", "--db", db, "--port", "0", "--log-level", "warning", *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    match = re.search(r"http://[^ :]+:(\d+)", line)
    if not match:
        process.kill()
        sys.exit("tally serve did not start: " + line)
    return process, int(match.group(1))


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", path)
    return json.loads(conn.getresponse().read())


def wrk(port, seconds, connections, threads):
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                          f"http://127.0.0.1:{port}/api/dashboard"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {}
    for p in ("50", "90", "99"):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        latency[p] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    # wrk's percentiles leave out requests that timed out (2 s): count them.
    return rps, latency, (int(errors.group(1)) if errors else 0) + (int(timeouts.group(1)) if timeouts else 0)


def run(tally, db, rate, seconds, connections, threads, label):
    server, port = serve(tally, db)
    try:
        get(port, "/api/dashboard")  # warm
        base = get(port, "/api/dashboard")["payments"]["total"]
        log = db + f".commits-{rate}.log"
        writer = checker = None
        if rate > 0:
            writer = subprocess.Popen([sys.executable, "-c", WRITER, db, str(rate), str(seconds + 2), log])
            checker = subprocess.Popen([sys.executable, "-c", CHECKER, str(port), str(base), str(seconds), log],
                                       stdout=subprocess.PIPE, text=True)
        rps, latency, errors = wrk(port, seconds, connections, threads)
        checks = stale = 0
        commits = 0
        if writer:
            result = json.loads(checker.communicate()[0])
            checks, stale = result["checks"], result["stale"]
            writer.wait()
            commits = int(open(log).read().split()[-1])
            os.remove(log)
        strategy = get(port, "/api/dashboard")["meta"].get("strategy")
        print(f"| {label} | {rate} | {commits} | {strategy} | {rps:,.0f} | {latency['50']:.2f} | {latency['90']:.2f} | "
              f"{latency['99']:.2f} | {errors} | {stale} of {checks} |", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()


@contextlib.contextmanager
def working_copy(tally, db, workdir, name):
    """A copy of `db` (SQLite's backup) with rollups enabled, removed afterwards."""
    copy = os.path.join(workdir, name)

    def remove():
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(copy + suffix):
                os.remove(copy + suffix)

    remove()
    subprocess.run(["sqlite3", db, f".backup '{copy}'"], check=True)
    try:
        subprocess.run([tally, "rollups", "enable", "--db", copy], check=True, stdout=subprocess.DEVNULL)
        yield copy
    finally:
        remove()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db")
    parser.add_argument("--rates", type=float, nargs="+", default=[0, 5, 50])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--without-rollups", action="store_true")
    parser.add_argument("--tally", default=".build/release/tally")
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")

    with working_copy(args.tally, args.db, args.workdir, "tally-live-bench.sqlite") as copy:
        print(f"`{' '.join(sys.argv)}`: wrk -t{args.threads} -c{args.connections} -d{args.seconds}s on /api/dashboard\n")
        print("| rollups | commits/s | commits | meta.strategy | req/s | p50 ms | p90 ms | p99 ms | non-2xx or timed out | answers missing a finished commit |")
        print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
        for rate in args.rates:
            run(args.tally, copy, rate, args.seconds, args.connections, args.threads, "on")
        if args.without_rollups:
            subprocess.run([args.tally, "rollups", "disable", "--db", copy], check=True, stdout=subprocess.DEVNULL)
            for rate in args.rates:
                run(args.tally, copy, rate, args.seconds, args.connections, args.threads, "off")


if __name__ == "__main__":
    main()
