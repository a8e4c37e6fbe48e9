#!/usr/bin/env bash
# Regenerates Sources/TallyCore/Schema/TallySchema+SQL.swift from schema.sql.
set -euo pipefail
cd "$(dirname "$0")/.."
out=Sources/TallyCore/Schema/TallySchema+SQL.swift
{ echo '// Generated from schema.sql at the repository root; a test fails if the two differ.'
  echo '// Edit schema.sql, then run `scripts/embed-schema.sh`.'
  echo ''
  echo 'extension TallySchema {'
  echo '    /// The exact text of `schema.sql`: tables, CHECKs, foreign keys and documented indexes.'
  echo '    public static let sql: String = #"""'
  cat schema.sql
  echo '"""#'
  echo '}'
} > "$out"
