#!/usr/bin/env bash
# Renders the demo database's report in headless Chromium and checks the PNG
# is not blank. Writes docs/report.png (the README's screenshot).
# Usage: scripts/report-screenshot.sh [DB] [PNG]   (defaults: tally-demo.sqlite, docs/report.png)
set -euo pipefail
cd "$(dirname "$0")/.."
db=${1:-tally-demo.sqlite}
png=${2:-docs/report.png}
command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
swift build -c release >/dev/null
[ -f "$db" ] || .build/release/tally demo --db "$db" >/dev/null
html=$(mktemp --suffix=.html)
trap 'rm -f "$html"' EXIT
.build/release/tally report --db "$db" --out "$html" --quiet
mkdir -p "$(dirname "$png")"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,1500 \
  --screenshot="$png" "file://$html" 2>/dev/null
# Not blank: decode the PNG and count distinct pixel rows.
python3 - "$png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, width = 8, b'', 0
while pos < len(data):
    length, kind = struct.unpack('>I4s', data[pos:pos + 8])
    chunk = data[pos + 8:pos + 8 + length]
    if kind == b'IHDR': width = struct.unpack('>I', chunk[:4])[0]
    if kind == b'IDAT': idat += chunk
    pos += 12 + length
raw = zlib.decompress(idat)
distinct = len(set(raw[i:i + 64] for i in range(0, len(raw), 4096)))
print(f'{sys.argv[1]}: {width} px wide, {distinct} distinct samples')
assert distinct > 20, 'the screenshot looks blank'
PY
