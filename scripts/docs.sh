#!/usr/bin/env bash
# Builds TallyCore's DocC catalog (Sources/TallyCore/TallyCore.docc) with the
# toolchain's docc, failing on any warning (a broken symbol link, a missing
# article). Output: .build/docs/TallyCore.doccarchive
set -euo pipefail
cd "$(dirname "$0")/.."
graphs=.build/symbol-graphs
rm -rf "$graphs" .build/docs/TallyCore.doccarchive
mkdir -p "$graphs" .build/docs
# Symbol graphs of every module (built if needed); TallyCore's are kept.
out=$(swift package dump-symbol-graph --minimum-access-level public --skip-inherited-docs 2>&1 | tail -1)
dir=${out##* }
cp "$dir"/TallyCore*.symbols.json "$graphs"/
docc convert Sources/TallyCore/TallyCore.docc \
    --additional-symbol-graph-dir "$graphs" \
    --fallback-display-name TallyCore --fallback-bundle-identifier dev.tally.TallyCore \
    --output-path .build/docs/TallyCore.doccarchive --warnings-as-errors
echo "built .build/docs/TallyCore.doccarchive"
