#!/usr/bin/env bash
# Reproduces the tables of Benchmarks/README.md: a 1M-booking database with the
# documented indexes and a copy without them, each measured by `tally bench`.
# Usage: scripts/bench-1m.sh [BOOKINGS] [RUNS]   (defaults: 1000000, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
bookings=${1:-1000000}
runs=${2:-5}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
swift build -c release >/dev/null
tally=.build/release/tally
echo "## generate"
$tally generate --db "$dir/with.sqlite" --bookings "$bookings" --seed 42 --format table | tail -1
cp "$dir/with.sqlite" "$dir/without.sqlite"
$tally indexes drop --db "$dir/without.sqlite" --format table | tail -1
sqlite3 "$dir/without.sqlite" "VACUUM; ANALYZE;" 2>/dev/null || true
echo "## with the documented indexes"
$tally bench --db "$dir/with.sqlite" --runs "$runs" --format table
echo "## without the documented indexes"
$tally bench --db "$dir/without.sqlite" --runs "$runs" --format table
