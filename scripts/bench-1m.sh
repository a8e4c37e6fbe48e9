#!/usr/bin/env bash
# Reproduces the tables of Benchmarks/README.md: a fresh 1M-booking database,
# measured by `tally bench` (which copies it with and without the documented indexes).
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
$tally generate --db "$dir/tally.sqlite" --bookings "$bookings" --seed 42 --format table | tail -1
$tally bench --db "$dir/tally.sqlite" --runs "$runs" --format table
