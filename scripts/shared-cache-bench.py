#!/usr/bin/env python3
"""Three `tally serve` processes on one file and one redis-server, under the
live writer of scripts/live-bench.py (5 commits a second by default).

    python3 scripts/shared-cache-bench.py tally-demo.sqlite [--instances 3] [--rate 5] [--seconds 20]

Prints, from the instances' /metrics: how many times the dashboard was
computed across all instances against the number of commits (each distinct
answer should be computed once per change), the shared level's hits and
latency; whether an ETag from instance A gets a 304 from instance B; the load
each instance served (wrk on each at once) and answers that missed a finished
commit (must be 0). Then a second run kills Redis halfway: no request may fail.

    python3 scripts/shared-cache-bench.py tally-demo.sqlite --unloaded 1000

measures instead what one shared-level hit costs without wrk: --instances
servers (at least two), no writer unless `--unloaded-rate R` asks for one. For
each of N distinct revenue answers, the first instance computes and stores it,
then every other instance is asked twice in a row: its first answer is a
shared-level hit (its own cache does not have it; `meta.sharedCache` says
`hit`), its second an in-process hit. Prints the client-side latency of both
(keep-alive connections, medians and p99) and the other instances'
shared-operation histograms.

Works on a copy of the file (rollups enabled on it). Needs a release build,
redis-server, wrk, python3.
"""
import argparse
import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("live_bench", os.path.join(here, "live-bench.py"))
live = importlib.util.module_from_spec(spec)
spec.loader.exec_module(live)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis():
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return redis, port
        except OSError:
            time.sleep(0.02)
    sys.exit("redis-server did not start")


def serve(tally, db, redis_port):
    return live.serve(tally, db, ["--cache-url", f"redis://127.0.0.1:{redis_port}"])


def request(port, path, etag=None):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", path, headers={"If-None-Match": etag} if etag else {})
    response = conn.getresponse()
    body = response.read()
    return response.status, response.getheader("ETag"), body


def metrics(port):
    text = request(port, "/metrics")[2].decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        values[name] = float(value)
    return values


def dashboard_computations(values):
    return sum(v for k, v in values.items() if k.startswith("tally_engine_requests_total") and 'kind="dashboard"' in k)


def shared_quantile(all_values, q):
    buckets = {}
    for values in all_values:
        for k, v in values.items():
            m = re.match(r'tally_shared_cache_request_duration_seconds_bucket\{le="([^"]+)"\}', k)
            if m:
                buckets[m.group(1)] = buckets.get(m.group(1), 0) + v
    total = buckets.get("+Inf", 0)
    for le, count in sorted(((float(le), c) for le, c in buckets.items()), key=lambda x: x[0]):
        if total and count >= q * total:
            return le, int(total)
    return None, int(total)


def run(args, db, kill_redis_after=None):
    redis, redis_port = start_redis()
    servers = [serve(args.tally, db, redis_port) for _ in range(args.instances)]
    ports = [port for _, port in servers]
    try:
        status, etag, _ = request(ports[0], "/api/dashboard")
        etag_ok = all(request(p, "/api/dashboard", etag)[0] == 304 for p in ports[1:])
        base = json.loads(request(ports[0], "/api/dashboard")[2])["payments"]["total"]
        before = [metrics(p) for p in ports]
        log = db + ".commits.log"
        writer = subprocess.Popen([sys.executable, "-c", live.WRITER, db, str(args.rate), str(args.seconds + 2), log])
        checker = subprocess.Popen([sys.executable, "-c", live.CHECKER, str(ports[-1]), str(base), str(args.seconds), log],
                                   stdout=subprocess.PIPE, text=True)
        results = [None] * len(ports)

        def load(i):
            results[i] = live.wrk(ports[i], args.seconds, args.connections, 1)

        threads = [threading.Thread(target=load, args=(i,)) for i in range(len(ports))]
        for t in threads:
            t.start()
        if kill_redis_after is not None:
            time.sleep(kill_redis_after)
            redis.send_signal(signal.SIGKILL)
        for t in threads:
            t.join()
        checked = json.loads(checker.communicate()[0])
        writer.wait()
        commits = int(open(log).read().split()[-1])
        os.remove(log)
        after = [metrics(p) for p in ports]
        computed = sum(dashboard_computations(a) - dashboard_computations(b) for a, b in zip(after, before))
        hits = sum(a.get("tally_shared_cache_hits_total", 0) - b.get("tally_shared_cache_hits_total", 0) for a, b in zip(after, before))
        errors = sum(a.get("tally_shared_cache_errors_total", 0) for a in after)
        p99, operations = shared_quantile(after, 0.99)
        p50, _ = shared_quantile(after, 0.5)
        return {
            "etag_304_across_instances": etag_ok, "commits": commits, "dashboard_computations": int(computed),
            "shared_hits": int(hits), "shared_errors": int(errors), "shared_p50_le_seconds": p50, "shared_p99_le_seconds": p99,
            "shared_operations": operations,
            "req_per_s": [round(r[0]) for r in results], "p99_ms": [round(r[1]["99"], 2) for r in results],
            "non_2xx_or_timeouts": sum(r[2] for r in results),
            "checks": checked["checks"], "answers_missing_a_finished_commit": checked["stale"],
        }
    finally:
        for process, _ in servers:
            process.send_signal(signal.SIGTERM)
            process.wait()
        if redis.poll() is None:
            redis.terminate()
            redis.wait()


def unloaded(args, db):
    """Shared-level hits on the other instances of answers the first one
    stored, one request at a time; with --unloaded-rate, under the live
    writer at that rate."""
    redis, redis_port = start_redis()
    servers = [serve(args.tally, db, redis_port) for _ in range(max(2, args.instances))]
    a_port, other_ports = servers[0][1], [port for _, port in servers[1:]]
    writer = None
    if args.unloaded_rate > 0:
        log = db + ".commits.log"
        writer = subprocess.Popen([sys.executable, "-c", live.WRITER, db, str(args.unloaded_rate), "3600", log])
    try:
        a = http.client.HTTPConnection("127.0.0.1", a_port)
        others = [http.client.HTTPConnection("127.0.0.1", port) for port in other_ports]

        def get(conn, path):
            started = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            return (time.perf_counter() - started) * 1000, response.status, json.loads(body)

        shared, local, outcomes = [], [], {}
        for i in range(args.unloaded):
            # A distinct closed range per request: a new key, computed once by the first instance.
            path = f"/api/revenue?period={args.period}&from=2024-01-01&to=2024-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i // 24 % 60:02d}:00Z&tz=UTC"
            get(a, path)
            for b in others:
                ms, status, body = get(b, path)
                outcomes[body["meta"].get("sharedCache")] = outcomes.get(body["meta"].get("sharedCache"), 0) + 1
                if status == 200 and body["meta"].get("sharedCache") == "hit":
                    shared.append(ms)
                ms, status, body = get(b, path)
                if status == 200 and body["meta"]["cache"] == "hit":
                    local.append(ms)

        def quantiles(samples):
            ordered = sorted(samples)
            return {"n": len(ordered), "p50_ms": round(ordered[len(ordered) // 2], 3),
                    "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
                    "max_ms": round(ordered[-1], 3)} if ordered else {"n": 0}

        values = [metrics(port) for port in other_ports]
        p99, operations = shared_quantile(values, 0.99)
        p50, _ = shared_quantile(values, 0.5)
        commits = None
        if writer:
            writer.terminate()
            writer.wait()
            commits = int((open(log).read().split() or ["0"])[-1])
            os.remove(log)
        return {"writer commits during the run": commits, "the others' first answer (shared-level hit)": quantiles(shared), "their second answer (in-process hit)": quantiles(local),
                "their meta.sharedCache on first answers": outcomes,
                "their shared operations": {"n": operations, "p50_le_seconds": p50, "p99_le_seconds": p99}}
    finally:
        if writer and writer.poll() is None:
            writer.terminate()
            writer.wait()
        for process, _ in servers:
            process.send_signal(signal.SIGTERM)
            process.wait()
        redis.terminate()
        redis.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--rate", type=float, default=5)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--tally", default=".build/release/tally")
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument("--unloaded", type=int, default=0, metavar="N",
                        help="instead: N shared-level hits one at a time, nothing else running")
    parser.add_argument("--unloaded-rate", type=float, default=0, metavar="R",
                        help="with --unloaded: the live writer commits R times a second meanwhile")
    parser.add_argument("--period", default="day", help="with --unloaded: the revenue period (day: up to a year of buckets, month: up to 12)")
    args = parser.parse_args()
    for tool in ("wrk", "redis-server", "sqlite3"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed")
    with live.working_copy(args.tally, args.db, args.workdir, "tally-shared-bench.sqlite") as copy:
        if args.unloaded:
            print(f"`{' '.join(sys.argv)}`: {max(2, args.instances)} instances, one Redis, no wrk, "
                  f"{'the live writer at ' + str(args.unloaded_rate) + ' commits/s' if args.unloaded_rate else 'no writer'}")
            print(json.dumps(unloaded(args, copy), indent=1))
            return
        print(f"`{' '.join(sys.argv)}`: {args.instances} instances, wrk -t1 -c{args.connections} -d{args.seconds}s on each")
        print(json.dumps({"run": "redis up", **run(args, copy)}))
        print(json.dumps({"run": f"redis killed after {args.seconds // 2} s", **run(args, copy, kill_redis_after=args.seconds // 2)}))

if __name__ == "__main__":
    main()
