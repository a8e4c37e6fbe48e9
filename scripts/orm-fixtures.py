#!/usr/bin/env python3
"""ORM-shaped SQLite fixtures for Tally's schema map, and reference answers
computed from their raw rows in plain Python.

Tally can read an application's own database through a *schema map* (which
app table/column holds each of Tally's, and how to convert its values). This
script builds databases the way Prisma, Django and Rails store them, writes the
matching map, and computes the dashboard and revenue answers independently of
Tally (no Tally code, no SQLite date functions: every conversion is done here),
so Swift tests can compare Tally's answers with them.

    python3 scripts/orm-fixtures.py build --kind prisma|django|rails|rails-legacy \\
        --out FILE.sqlite [--seed 1] [--bookings 300]
        A new FILE.sqlite in that ORM's shape (seeded data over ~2 years plus
        the edge rows listed in the summary it prints) and FILE.sqlite.map.json.

    python3 scripts/orm-fixtures.py reference --db FILE --map MAP \\
        [--period month] [--tz UTC] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
        Prints {"dashboard": {..., "absent": [...]}, "revenue": {...},
        "modules": {organization id: {name, activeModules}} or null} computed
        from `SELECT *` of the app's tables, converted as MAP says. Revenue
        bucket starts, "from" and "to" are epoch milliseconds.

    python3 scripts/orm-fixtures.py write --db FILE --kind K --seed S --count N
        N app-style writes to payments and bookings (inserts, updates of status,
        amount and createdAt, deletes, one raw-SQL insert using
        CURRENT_TIMESTAMP, one INSERT OR REPLACE of an existing id), each in
        its own committed transaction, stored as that ORM stores them.

    python3 scripts/orm-fixtures.py shape --kind prisma|django \\
        --from NATIVE.sqlite --out FILE.sqlite
        A native Tally database (schema.sql) copied into that ORM's shape with
        INSERT ... SELECT (fast at 1M bookings), plus FILE.sqlite.map.json.

Standard library only.
"""
import argparse
import bisect
import json
import math
import os
import random
import re
import sqlite3
import sys
import zlib
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# MARK: - Tally's schema (contract §1)

TALLY_TABLES = {
    "users": ["id", "email", "name", "role", "isActive", "createdAt"],
    "drivers": ["id", "userId", "isAvailable", "rating", "createdAt"],
    "vehicles": ["id", "driverId", "type", "plate", "isAvailable", "createdAt"],
    "bookings": ["id", "userId", "driverId", "vehicleId", "serviceType", "status", "price", "scheduledDate", "createdAt"],
    "payments": ["id", "bookingId", "amount", "status", "createdAt"],
    "organizations": ["id", "name", "createdAt"],
    "modules": ["id", "organizationId", "key", "isActive", "createdAt"],
}
ENUMS = {
    "users.role": ["CUSTOMER", "DRIVER", "ADMIN"],
    "vehicles.type": ["CAR", "MOTORBIKE", "VAN", "TRUCK"],
    "bookings.serviceType": ["RIDE", "DELIVERY", "RENTAL"],
    "bookings.status": ["PENDING", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "CANCELLED"],
    "payments.status": ["PENDING", "COMPLETED", "FAILED", "REFUNDED"],
}
TIMESTAMP_COLUMNS = {"createdAt", "scheduledDate"}
MONEY_COLUMNS = {"bookings.price", "payments.amount"}
FLAG_COLUMNS = {"isActive", "isAvailable"}
FOREIGN_KEYS = {"userId": "users", "driverId": "drivers", "vehicleId": "vehicles",
                "bookingId": "bookings", "organizationId": "organizations"}
TIMESTAMP_FORMATS = {"epoch-ms", "epoch-s", "iso8601", "julian-day"}

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
UNIX_EPOCH_JULIAN_MS = 210_866_760_000_000  # 2440587.5 days × 86 400 000
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class UsageError(Exception):
    """Bad input from the command line or the map: exit 2."""


def qi(name):
    """An SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


# MARK: - Conversions (the map's semantics, in Python)

def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date; d may overflow
    the month (day 31 of February rolls into March, as SQLite computes)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468 + (d - 1)


_SP = "[ \t\n\v\f\r]"
_ISO_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})" + f"[ \t\n\v\f\rT]*"
    r"(?:(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?" + f"{_SP}*"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))?" + f"{_SP}*)?", re.ASCII)


def parse_iso_text(text, zone=None):
    """ISO 8601 text → epoch ms (int), as SQLite's julianday() reads it:
    `YYYY-MM-DD`, then optionally `HH:MM`, `:SS`, `.fff…` (rounded to the
    nearest millisecond, half up), `Z` or `±HH:MM` (naive is UTC); `T` or
    spaces between date and time. Field ranges as SQLite checks them (day
    1–31 rolling over, hour 0–24, offset hour 0–14). Anything else → None."""
    m = _ISO_RE.fullmatch(text)
    if not m:
        return None
    naive = m[8] is None and m[9] is None
    y, mo, d = int(m[1]), int(m[2]), int(m[3])
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    ms = days_from_civil(y, mo, d) * 86_400_000
    if m[4] is not None:
        h, mi, s = int(m[4]), int(m[5]), int(m[6] or 0)
        if h > 24 or mi > 59 or s > 59:
            return None
        frac = 0
        if m[7]:
            frac = int((Decimal("0." + m[7]) * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        ms += (h * 3600 + mi * 60 + s) * 1000 + frac
        if m[9]:
            oh, om = int(m[10]), int(m[11])
            if oh > 14 or om > 59:
                return None
            ms -= (1 if m[9] == "+" else -1) * (oh * 60 + om) * 60_000
    if naive and zone is not None:
        # A local time in `zone`: Python's fold=0 (an overlap's earlier
        # instant, a gap's offset from before the change).
        local = datetime(1970, 1, 1) + timedelta(milliseconds=ms)
        ms -= int(local.replace(tzinfo=ZoneInfo(zone)).utcoffset() / timedelta(milliseconds=1))
    return ms


def round_half_away(x):
    """A float rounded to the nearest integer, halves away from zero (SQL's round())."""
    if x < 0:
        return -round_half_away(-x)
    f = math.floor(x)
    return int(f) + (1 if x - f >= 0.5 else 0)


def fit_int64(v):
    """An integer result; past 64 bits it becomes a real, as SQL arithmetic does."""
    return v if INT64_MIN <= v <= INT64_MAX else float(v)


def convert_timestamp(v, fmt, zone=None):
    """A stored timestamp → epoch ms. NULL and BLOB as stored; text parsed as
    ISO 8601 whatever the format (None when unparseable)."""
    if v is None or isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return parse_iso_text(v, zone)
    if fmt in ("epoch-ms", "iso8601"):
        return v
    if fmt == "epoch-s":
        return fit_int64(v * 1000) if isinstance(v, int) else v * 1000.0
    # julian-day
    if not math.isfinite(v * 86400000.0):
        return v * 86400000.0
    ms = round_half_away(v * 86400000.0) - UNIX_EPOCH_JULIAN_MS
    return fit_int64(ms) if isinstance(v, int) else float(ms)


_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")


def _decimal_minor(dec, digits):
    """An exact Decimal in major units → minor units (half away from zero);
    past 2^53 minor units it stays a real, as Tally's SQL computes it."""
    x = dec.scaleb(digits)
    i = int(x.to_integral_value(rounding=ROUND_HALF_UP))  # ROUND_HALF_UP is half away from zero
    return i if abs(i) < 2 ** 53 else float(x)


def convert_money_major(v, digits):
    """Major units (19.99) → minor units (1999)."""
    factor = 10 ** digits
    if isinstance(v, int):
        return fit_int64(v * factor)
    if isinstance(v, float):
        if not math.isfinite(v):
            return v
        dec = Decimal(repr(v))
        if dec.as_tuple().exponent >= -digits:  # at most `digits` decimals: exact
            return _decimal_minor(dec, digits)
        x = v * factor
        return round_half_away(x) if abs(x) < 2 ** 53 else x
    if isinstance(v, str):
        t = v.strip(" ")
        if _PLAIN_DECIMAL.fullmatch(t):
            return _decimal_minor(Decimal(t), digits)
    return v


def convert_flag(v):
    """'t'/'true'/'1' → 1, 'f'/'false'/'0' → 0 (any case, spaces around); else as stored."""
    if isinstance(v, str):
        t = v.strip(" ").lower()
        if t in ("t", "true", "1"):
            return 1
        if t in ("f", "false", "0"):
            return 0
    return v


def convert_enum(v, text_keys, int_keys):
    """A stored value → Tally's name: text by its key, an integer by a key spelling it."""
    if isinstance(v, str):
        return text_keys.get(v, v)
    if isinstance(v, int):
        return int_keys.get(v, v)
    return v


def make_converter(table, column, spec):
    """The function converting a stored value of Tally's `table.column` per its map entry."""
    if spec is None or isinstance(spec, str):
        return None
    steps = []
    fmt = spec.get("timestamp")
    if fmt is not None:
        if fmt not in TIMESTAMP_FORMATS or column not in TIMESTAMP_COLUMNS:
            raise UsageError(f"map tables.{table}.columns.{column}: bad \"timestamp\" {fmt!r}")
        steps.append(lambda v, f=fmt, z=spec.get("zone"): convert_timestamp(v, f, z))
    money = spec.get("money")
    if money is not None:
        if money not in ("minor", "major") or f"{table}.{column}" not in MONEY_COLUMNS:
            raise UsageError(f"map tables.{table}.columns.{column}: bad \"money\" {money!r}")
        if money == "major":
            digits = spec.get("minorDigits", 2)
            steps.append(lambda v, d=digits: convert_money_major(v, d))
    if spec.get("boolean"):
        if column not in FLAG_COLUMNS:
            raise UsageError(f"map tables.{table}.columns.{column}: \"boolean\" on a non-flag column")
        steps.append(convert_flag)
    values = spec.get("values") or {}
    if values:
        if f"{table}.{column}" not in ENUMS:
            raise UsageError(f"map tables.{table}.columns.{column}: \"values\" on a non-enum column")
        int_keys = {}
        for key in sorted(values):  # the first key spelling an integer wins, as in Tally's CASE
            if re.fullmatch(r"[+-]?[0-9]+", key) and INT64_MIN <= int(key) <= INT64_MAX:
                int_keys.setdefault(int(key), values[key])
        steps.append(lambda v, t=dict(values), i=int_keys: convert_enum(v, t, i))
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def chain(v):
        for step in steps:
            v = step(v)
        return v
    return chain


# MARK: - SQLite's SUM/AVG and group names

_NUMERIC_TEXT = re.compile(r"[ \t\n\v\f\r]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[ \t\n\v\f\r]*")


def text_prefix_double(text):
    """sqlite3_value_double() of a text: its longest numeric prefix, else 0.0."""
    m = re.match(r"[ \t\n\v\f\r]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)", text)
    try:
        return float(m[1]) if m else 0.0
    except (OverflowError, ValueError):
        return 0.0


class SqlSum:
    """SQL's SUM (and AVG) over stored values, as SQLite 3.40 adds them: exact
    integers while every value is an integer, a real otherwise (reals, and
    texts/blobs read as numbers); NULLs skipped."""

    def __init__(self):
        self.count = 0
        self.isum = 0
        self.rsum = 0.0
        self.approx = False

    def add(self, v):
        if v is None:
            return
        if isinstance(v, str):
            m = _NUMERIC_TEXT.fullmatch(v)
            if m and re.fullmatch(r"[+-]?[0-9]+", m[1]) and INT64_MIN <= int(m[1]) <= INT64_MAX:
                v = int(m[1])
            else:
                v = text_prefix_double(v)
        elif isinstance(v, bytes):
            v = text_prefix_double(v.decode("utf-8", "replace"))
        self.count += 1
        if isinstance(v, int):
            self.rsum += v
            if not self.approx:
                self.isum += v
                if not INT64_MIN <= self.isum <= INT64_MAX:
                    raise RuntimeError("integer overflow (as SQLite's SUM reports it)")
        else:
            self.rsum += v
            self.approx = True

    @property
    def total(self):
        """The sum; 0 when no value (Tally shows an empty sum as 0)."""
        return self.rsum if self.approx else self.isum

    @property
    def average(self):
        return self.rsum / self.count if self.count else None


def storage_class(v):
    if v is None:
        return "null"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "real"
    if isinstance(v, str):
        return "text"
    return "blob"


def value_name(v):
    """A group key's JSON name: its text (an integer 7 → "7")."""
    if v is None:
        return "null"
    if isinstance(v, bytes):
        return "x'" + v.hex() + "'"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def sqlite_order(v):
    """SQLite's sort order: NULL, numbers, text, blob."""
    cls = storage_class(v)
    rank = {"null": 0, "integer": 1, "real": 1, "text": 2, "blob": 3}[cls]
    return (rank, v if rank in (1, 2, 3) else 0)


def group_keys(found, enum):
    """(value key, JSON name) pairs: every enum value, then the other values
    found, named by their text (a second value with the same text gets its
    storage class appended, as Tally names it)."""
    known = [("text", name) for name in ENUMS[enum]]
    others = sorted((k for k in found if k not in known), key=lambda k: sqlite_order(k[1]))
    used, keys = set(), []
    for k in known + others:
        name = value_name(k[1])
        if name in used:
            name += f" ({k[0]})"
        used.add(name)
        keys.append((k, name))
    return keys


def is_on(v):
    """A flag that is 1 (an integer or real equal to 1)."""
    return isinstance(v, (int, float)) and v == 1


def is_number(v):
    return isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))


# MARK: - Reading an app's database through a map

class MappedTable:
    """One of Tally's tables in the app's database: the app table and, per
    Tally column, the app column's index and its converter (or absent)."""

    def __init__(self, con, tally_table, entry, absent):
        self.name = tally_table
        if not isinstance(entry, dict) or not isinstance(entry.get("table"), str):
            raise UsageError(f"map tables.{tally_table}: expected an object with \"table\" or null")
        self.app_table = entry["table"]
        try:
            cur = con.execute(f"SELECT * FROM {qi(self.app_table)} LIMIT 0")
        except sqlite3.OperationalError as e:
            raise RuntimeError(f"map tables.{tally_table}: the database has no table {qi(self.app_table)} ({e})")
        names = [d[0] for d in cur.description]
        lookup = {}
        for i, n in enumerate(names):
            lookup.setdefault(n.lower(), i)
        columns = entry.get("columns") or {}
        for c in columns:
            if c != "note" and c not in TALLY_TABLES[tally_table]:
                raise UsageError(f"map tables.{tally_table}.columns.{c}: Tally's {tally_table} has no such column")
        self.readers = {}  # Tally column → (index, converter) ; missing = absent
        for c in TALLY_TABLES[tally_table]:
            if c in columns:
                spec = columns[c]
                if spec is None:
                    absent.append(f"{tally_table}.{c}")
                    continue
                app_col = spec if isinstance(spec, str) else spec.get("column")
                if not isinstance(app_col, str) or app_col.lower() not in lookup:
                    raise RuntimeError(f"map tables.{tally_table}.columns.{c}: table {qi(self.app_table)} has no column {app_col!r}")
                self.readers[c] = (lookup[app_col.lower()], make_converter(tally_table, c, spec))
            elif c.lower() in lookup:
                self.readers[c] = (lookup[c.lower()], None)
            else:
                absent.append(f"{tally_table}.{c}")

    def rows(self, con, columns):
        """Yields, per app row, the converted values of `columns` (None where absent)."""
        getters = []
        for c in columns:
            reader = self.readers.get(c)
            if reader is None:
                getters.append(lambda row: None)
            elif reader[1] is None:
                getters.append(lambda row, i=reader[0]: row[i])
            else:
                getters.append(lambda row, i=reader[0], f=reader[1]: f(row[i]))
        for row in con.execute(f"SELECT * FROM {qi(self.app_table)}"):
            yield tuple(g(row) for g in getters)


def open_mapped(db, map_path):
    """(connection, {Tally table: MappedTable}, absent list) for a database and map file."""
    if not os.path.exists(db):
        raise RuntimeError(f"no database at {db}")
    with open(map_path) as f:
        try:
            m = json.load(f)
        except json.JSONDecodeError as e:
            raise UsageError(f"map {map_path}: not valid JSON ({e})")
    tables = m.get("tables") if isinstance(m, dict) else None
    if not isinstance(tables, dict):
        raise UsageError(f"map {map_path}: expected an object with \"tables\"")
    for t in tables:
        if t != "note" and t not in TALLY_TABLES:
            raise UsageError(f"map tables.{t}: Tally has no such table")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.text_factory = lambda b: b.decode("utf-8", "replace")
    con.execute("BEGIN")  # one snapshot for every read
    sources, absent = {}, []
    for t in TALLY_TABLES:
        entry = tables.get(t)
        if entry is None:
            absent.append(t)
        else:
            sources[t] = MappedTable(con, t, entry, absent)
    return con, sources, absent


# MARK: - Reference dashboard (contract §2, §4)

def grouped(rows, enum, key_index, measure):
    """{name: measure(rows of that group)} over every enum value and found value."""
    groups = {}
    for r in rows:
        v = r[key_index]
        groups.setdefault((storage_class(v), v), []).append(r)
    return {name: measure(groups.get(k, [])) for k, name in group_keys(groups.keys(), enum)}


def flagged_section(rows, enum, flag, breakdown):
    """{total, <flag>, <breakdown>: {key: {total, <flag>}}} over (key, flag) rows:
    the users and vehicles sections."""
    def counts(group):
        return {"total": len(group), flag: sum(1 for r in group if is_on(r[1]))}
    return {**counts(rows), breakdown: grouped(rows, enum, 0, counts)}


def reference_dashboard(con, sources, absent):
    out = {}
    if "users" in sources:
        rows = list(sources["users"].rows(con, ["role", "isActive"]))
        out["users"] = flagged_section(rows, "users.role", "active", "byRole")
    if "drivers" in sources:
        total = available = 0
        ratings = SqlSum()
        for available_flag, rating in sources["drivers"].rows(con, ["isAvailable", "rating"]):
            total += 1
            available += is_on(available_flag)
            ratings.add(rating)
        out["drivers"] = {"total": total, "available": available, "rated": ratings.count,
                          "averageRating": ratings.average}
    if "vehicles" in sources:
        rows = list(sources["vehicles"].rows(con, ["type", "isAvailable"]))
        out["vehicles"] = flagged_section(rows, "vehicles.type", "available", "byType")
    if "bookings" in sources:
        status, service, total = {}, {}, 0
        for st, sv in sources["bookings"].rows(con, ["status", "serviceType"]):
            total += 1
            status[(storage_class(st), st)] = status.get((storage_class(st), st), 0) + 1
            service[(storage_class(sv), sv)] = service.get((storage_class(sv), sv), 0) + 1
        out["bookings"] = {
            "total": total,
            "byStatus": {name: status.get(k, 0) for k, name in group_keys(status.keys(), "bookings.status")},
            "byServiceType": {name: service.get(k, 0) for k, name in group_keys(service.keys(), "bookings.serviceType")},
        }
    if "payments" in sources:
        sums, total = {}, 0
        for st, amount in sources["payments"].rows(con, ["status", "amount"]):
            total += 1
            sums.setdefault((storage_class(st), st), [0, SqlSum()])
            sums[(storage_class(st), st)][0] += 1
            sums[(storage_class(st), st)][1].add(amount)
        by_status = {}
        for k, name in group_keys(sums.keys(), "payments.status"):
            count, s = sums.get(k, [0, SqlSum()])
            by_status[name] = {"count": count, "amount": s.total}
        out["payments"] = {"total": total, "byStatus": by_status,
                           "revenue": by_status["COMPLETED"]["amount"],
                           "refunded": by_status["REFUNDED"]["amount"]}
    if "modules" in sources:
        total = active = 0
        for (flag,) in sources["modules"].rows(con, ["isActive"]):
            total += 1
            active += is_on(flag)
        organizations = 0
        if "organizations" in sources:
            organizations = sum(1 for _ in sources["organizations"].rows(con, []))
        out["modules"] = {"total": total, "active": active, "organizations": organizations}
    out["absent"] = absent
    return out


# MARK: - Reference revenue (periods in a time zone)

PERIODS = ("day", "week", "month", "quarter", "year")


def local_date_of_seconds(s, tz):
    return (EPOCH + timedelta(seconds=s)).astimezone(tz).date()


def local_date(ms, tz):
    """The local calendar date holding instant `ms` (an int or float)."""
    return local_date_of_seconds(math.floor(ms) // 1000, tz)


def start_of_day(d, tz):
    """Epoch ms of the first instant of local date `d` (midnight, or the end
    of a DST gap that swallows midnight; for a skipped day, the start of the
    next existing day)."""
    naive = datetime(d.year, d.month, d.day)
    s = (naive.replace(tzinfo=tz) - EPOCH) // timedelta(seconds=1)  # fold=0: the earlier of two midnights
    if (EPOCH + timedelta(seconds=s)).astimezone(tz).replace(tzinfo=None) == naive:
        return s * 1000
    lo, hi = s - 3 * 86400, s + 3 * 86400  # midnight does not exist: first second whose date is ≥ d
    while lo < hi:
        mid = (lo + hi) // 2
        if local_date_of_seconds(mid, tz) >= d:
            hi = mid
        else:
            lo = mid + 1
    return lo * 1000


def period_floor(d, period):
    if period == "day":
        return d
    if period == "week":
        return d - timedelta(days=d.weekday())
    if period == "month":
        return d.replace(day=1)
    if period == "quarter":
        return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    return date(d.year, 1, 1)


def period_next(d, period):
    if period == "day":
        return d + timedelta(days=1)
    if period == "week":
        return d + timedelta(days=7)
    if period == "year":
        return date(d.year + 1, 1, 1)
    months = 1 if period == "month" else 3
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


def bucket_grid(from_ms, to_ms, period, tz):
    """(starts, end): the start of every calendar period from the one holding
    from_ms to the one holding the last instant before to_ms, and the end of
    the last one. Starts are unique (a skipped local day has no bucket)."""
    d = period_floor(local_date(from_ms, tz), period)
    starts = []
    while True:
        st = start_of_day(d, tz)
        if starts and st <= starts[-1]:  # a skipped day: same start as the next day
            d = period_next(d, period)
            continue
        if st >= to_ms:
            return starts, st
        starts.append(st)
        d = period_next(d, period)


def parse_bound(text, tz, option):
    """--from/--to: YYYY-MM-DD (midnight in tz) or an ISO 8601 timestamp with an offset."""
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        try:
            return start_of_day(date.fromisoformat(text), tz)
        except ValueError:
            pass
    elif re.search(r"(Z|z|[+-][0-9]{2}:[0-9]{2})$", text):
        ms = parse_iso_text(text)
        if ms is not None:
            return ms
    raise UsageError(f"invalid {option} '{text}'; expected YYYY-MM-DD or an ISO 8601 timestamp with offset")


def reference_modules(con, sources):
    """Active modules per organization (`tally modules`): every organization,
    those without an active module too, keyed by its id as text."""
    if "organizations" not in sources:
        return None
    active = {}
    if "modules" in sources:
        for organization, flag in sources["modules"].rows(con, ["organizationId", "isActive"]):
            if is_on(flag):
                key = (storage_class(organization), organization)
                active[key] = active.get(key, 0) + 1
    return {value_name(i): {"name": name, "activeModules": active.get((storage_class(i), i), 0)}
            for i, name in sources["organizations"].rows(con, ["id", "name"])}


def reference_revenue(con, sources, period, tz_name, from_text, to_text):
    if period not in PERIODS:
        raise UsageError(f"invalid --period '{period}'; expected one of {', '.join(PERIODS)}")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone '{tz_name}'")
    from_ms = parse_bound(from_text, tz, "--from") if from_text else None
    to_ms = parse_bound(to_text, tz, "--to") if to_text else None
    if from_ms is not None and to_ms is not None and from_ms >= to_ms:
        raise UsageError("--from must be before --to")

    completed = []  # (time, amount) of COMPLETED payments with a numeric time
    if "payments" in sources:
        for status, t, amount in sources["payments"].rows(con, ["status", "createdAt", "amount"]):
            if status == "COMPLETED" and is_number(t):
                completed.append((t, amount))
    finite = [t for t, _ in completed if math.isfinite(t)]
    out = {"period": period, "timeZone": tz_name}
    if from_ms is None or to_ms is None:
        if not finite:  # no data to take the range from
            out.update({"from": from_ms, "to": to_ms, "buckets": [], "total": {"count": 0, "amount": 0}})
            return out
        if from_ms is None:
            from_ms = min(finite)
        if to_ms is None:
            last = max(finite)
            to_ms = last + 1 if isinstance(last, int) else math.nextafter(last, math.inf)
        if from_ms >= to_ms:  # one bound given, all data on the other side of it
            out.update({"from": from_ms, "to": to_ms, "buckets": [], "total": {"count": 0, "amount": 0}})
            return out
        starts, end = bucket_grid(from_ms, to_ms, period, tz)
        shown_from = starts[0] if not from_text else from_ms
        shown_to = end if not to_text else to_ms
    else:
        starts, end = bucket_grid(from_ms, to_ms, period, tz)
        shown_from, shown_to = from_ms, to_ms
    counts = [0] * len(starts)
    sums = [SqlSum() for _ in starts]
    total_count, total_sum = 0, SqlSum()
    for t, amount in completed:
        if not (from_ms <= t < to_ms):
            continue
        i = bisect.bisect_right(starts, t) - 1
        counts[i] += 1
        sums[i].add(amount)
        total_count += 1
        total_sum.add(amount)
    out["from"], out["to"] = shown_from, shown_to
    out["buckets"] = [{"start": s, "count": c, "amount": a.total} for s, c, a in zip(starts, counts, sums)]
    out["total"] = {"count": total_count, "amount": total_sum.total}
    return out


# MARK: - ORM shapes

class Raw:
    """A value stored exactly as given (an edge row, or an id read back from the file)."""

    def __init__(self, value):
        self.value = value


def micros_text(us, always_fraction):
    """'YYYY-MM-DD HH:MM:SS[.ffffff]' UTC of epoch microseconds."""
    dt = EPOCH + timedelta(microseconds=us)
    text = dt.strftime("%Y-%m-%d %H:%M:%S")
    if always_fraction or dt.microsecond:
        text += f".{dt.microsecond:06d}"
    return text


def decimal_text(hundredths):
    """2-decimal text of an integer number of hundredths, as Django/Rails bind a Decimal."""
    sign = "-" if hundredths < 0 else ""
    return f"{sign}{abs(hundredths) // 100}.{abs(hundredths) % 100:02d}"


class Orm:
    """How one ORM stores Tally's data: names, DDL, value encodings, map."""
    kind = ""
    tables = {}    # Tally table → app table (None: the app lacks it)
    columns = {}   # Tally table → {Tally column: app column (None: the app lacks it)}
    extra = {}     # Tally table → app columns the ORM adds (updatedAt): filled from createdAt

    def table(self, t):
        return self.tables[t]

    def column(self, t, c):
        return self.columns[t].get(c)

    # Value encodings (logical → stored). Times are epoch µs, money cents,
    # ratings hundredths, flags bool, enums Tally's names.
    def stored_id(self, t, n):
        return n

    def timestamp(self, us):
        raise NotImplementedError

    def money(self, cents):
        raise NotImplementedError

    def rating(self, hundredths):
        return None if hundredths is None else hundredths / 100

    def flag(self, on):
        return 1 if on else 0

    def enum(self, t, c, name):
        return name

    def encode(self, t, c, v):
        if isinstance(v, Raw):
            return v.value
        if v is None:
            return None
        if c == "id":
            return self.stored_id(t, v)
        if c in FOREIGN_KEYS:
            return self.stored_id(FOREIGN_KEYS[c], v)
        if c in TIMESTAMP_COLUMNS:
            return self.timestamp(v)
        if f"{t}.{c}" in MONEY_COLUMNS:
            return self.money(v)
        if c in FLAG_COLUMNS:
            return self.flag(v)
        if f"{t}.{c}" in ENUMS:
            return self.enum(t, c, v)
        if c == "rating":
            return self.rating(v)
        return v

    # DDL: (statements creating tables, statements creating indexes)
    def ddl(self):
        raise NotImplementedError

    def bookkeeping(self, con):
        """The ORM's own migration-tracking rows."""

    def schema_map(self):
        """The hand-written map: each table and column with its conversion."""
        t = {}
        for table, cols in TALLY_TABLES.items():
            if self.tables[table] is None:
                t[table] = None
                continue
            spec = {}
            for c in cols:
                app = self.column(table, c)
                spec[c] = None if app is None else column_spec(app, **self.conversion(table, c))
            t[table] = {"table": self.tables[table], "columns": spec}
        return {"tables": t}

    def conversion(self, table, c):
        """The map's conversion of one column, as `column_spec` keywords ({} for none)."""
        raise NotImplementedError

    # Raw SQL insert relying on the database (or a literal) for createdAt.
    def raw_timestamp_sql(self):
        """(SQL value for a raw insert's createdAt, same for updatedAt or None)."""
        raise NotImplementedError

    def unknown_status(self):
        raise NotImplementedError

    def late_second_text(self):
        """A createdAt 23:59:59.9996 (rounds to the next day's 00:00:00.000) as this ORM's text."""
        return "2024-03-31 23:59:59.999600"


def column_spec(column, **conversion):
    return {"column": column, **conversion} if conversion else column


class Prisma(Orm):
    kind = "prisma"
    tables = {"users": "User", "drivers": "Driver", "vehicles": "Vehicle", "bookings": "Booking",
              "payments": "Payment", "organizations": "Organization", "modules": "Module"}
    columns = {t: {c: c for c in cols} for t, cols in TALLY_TABLES.items()}
    extra = {t: ["updatedAt"] for t in TALLY_TABLES}

    def __init__(self, rng=None):
        self.rng = rng or random.Random(0)
        self.ids = {}
        self.counter = 0

    def new_cuid(self, ms=1_700_000_000_000):
        """A cuid-like id: 'c', base36 time, a counter, random letters (25 characters)."""
        def b36(n, width):
            digits = "0123456789abcdefghijklmnopqrstuvwxyz"
            s = ""
            while n:
                n, r = divmod(n, 36)
                s = digits[r] + s
            return s.rjust(width, "0")[-width:]
        self.counter += 1
        rand = "".join(self.rng.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(12))
        return "c" + b36(ms, 8) + b36(self.counter, 4) + rand

    def stored_id(self, t, n):
        if (t, n) not in self.ids:
            self.ids[(t, n)] = self.new_cuid()
        return self.ids[(t, n)]

    def timestamp(self, us):
        return us // 1000  # the client writes epoch ms (JS Date precision)

    def money(self, cents):
        return cents / 100  # Float, major units

    def late_second_text(self):
        return "2024-03-31 23:59:59.9996"

    def unknown_status(self):
        return "NO_SHOW"

    def raw_timestamp_sql(self):
        return None, "CURRENT_TIMESTAMP"  # createdAt from DEFAULT CURRENT_TIMESTAMP

    def ddl(self):
        def fk(table, col, target, on_delete):
            return (f'CONSTRAINT "{table}_{col}_fkey" FOREIGN KEY ("{col}") REFERENCES "{target}" ("id") '
                    f"ON DELETE {on_delete} ON UPDATE CASCADE")
        ts = '"createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, "updatedAt" DATETIME NOT NULL'
        tables = [
            '''CREATE TABLE "_prisma_migrations" ("id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL,
    "finished_at" DATETIME, "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME,
    "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)''',
            f'''CREATE TABLE "User" ("id" TEXT NOT NULL PRIMARY KEY, "email" TEXT NOT NULL, "name" TEXT,
    "role" TEXT NOT NULL DEFAULT 'CUSTOMER', "isActive" BOOLEAN NOT NULL DEFAULT true, {ts})''',
            f'''CREATE TABLE "Driver" ("id" TEXT NOT NULL PRIMARY KEY, "userId" TEXT NOT NULL,
    "isAvailable" BOOLEAN NOT NULL DEFAULT false, "rating" REAL, {ts},
    {fk("Driver", "userId", "User", "RESTRICT")})''',
            f'''CREATE TABLE "Vehicle" ("id" TEXT NOT NULL PRIMARY KEY, "driverId" TEXT, "type" TEXT NOT NULL,
    "plate" TEXT, "isAvailable" BOOLEAN NOT NULL DEFAULT true, {ts},
    {fk("Vehicle", "driverId", "Driver", "SET NULL")})''',
            f'''CREATE TABLE "Booking" ("id" TEXT NOT NULL PRIMARY KEY, "userId" TEXT NOT NULL, "driverId" TEXT,
    "vehicleId" TEXT, "serviceType" TEXT NOT NULL DEFAULT 'RIDE', "status" TEXT NOT NULL DEFAULT 'PENDING',
    "price" REAL NOT NULL, "scheduledDate" DATETIME NOT NULL, {ts},
    {fk("Booking", "userId", "User", "RESTRICT")},
    {fk("Booking", "driverId", "Driver", "SET NULL")},
    {fk("Booking", "vehicleId", "Vehicle", "SET NULL")})''',
            f'''CREATE TABLE "Payment" ("id" TEXT NOT NULL PRIMARY KEY, "bookingId" TEXT NOT NULL,
    "amount" REAL NOT NULL, "status" TEXT NOT NULL DEFAULT 'PENDING', {ts},
    {fk("Payment", "bookingId", "Booking", "RESTRICT")})''',
            f'''CREATE TABLE "Organization" ("id" TEXT NOT NULL PRIMARY KEY, "name" TEXT NOT NULL, {ts})''',
            f'''CREATE TABLE "Module" ("id" TEXT NOT NULL PRIMARY KEY, "organizationId" TEXT NOT NULL,
    "key" TEXT NOT NULL, "isActive" BOOLEAN NOT NULL DEFAULT true, {ts},
    {fk("Module", "organizationId", "Organization", "RESTRICT")})''',
        ]
        indexes = [
            'CREATE UNIQUE INDEX "User_email_key" ON "User"("email")',
            'CREATE INDEX "Driver_userId_idx" ON "Driver"("userId")',
            'CREATE UNIQUE INDEX "Vehicle_plate_key" ON "Vehicle"("plate")',
            'CREATE INDEX "Vehicle_driverId_idx" ON "Vehicle"("driverId")',
            'CREATE INDEX "Booking_userId_idx" ON "Booking"("userId")',
            'CREATE INDEX "Booking_driverId_idx" ON "Booking"("driverId")',
            'CREATE INDEX "Booking_vehicleId_idx" ON "Booking"("vehicleId")',
            'CREATE INDEX "Payment_bookingId_idx" ON "Payment"("bookingId")',
            'CREATE UNIQUE INDEX "Module_organizationId_key_key" ON "Module"("organizationId", "key")',
        ]
        return tables, indexes

    def bookkeeping(self, con):
        con.execute("""INSERT INTO "_prisma_migrations" ("id", "checksum", "finished_at", "migration_name",
            "started_at", "applied_steps_count") VALUES ('5c1f0c7e-0000-4000-8000-000000000001', 'f00d',
            1704067200000, '20240101000000_init', 1704067200000, 1)""")

    def conversion(self, table, c):
        if c in TIMESTAMP_COLUMNS:
            return {"timestamp": "epoch-ms"}
        if f"{table}.{c}" in MONEY_COLUMNS:
            return {"money": "major"}
        return {}  # enums are Tally's names already; flags 0/1


class Django(Orm):
    kind = "django"
    tables = {"users": "rides_user", "drivers": "rides_driver", "vehicles": "rides_vehicle",
              "bookings": "rides_booking", "payments": "rides_payment",
              "organizations": "rides_organization", "modules": "rides_module"}
    columns = {
        "users": {"id": "id", "email": "email", "name": "name", "role": "role", "isActive": "is_active",
                  "createdAt": "created_at"},
        "drivers": {"id": "id", "userId": "user_id", "isAvailable": "is_available", "rating": "rating",
                    "createdAt": "created_at"},
        "vehicles": {"id": "id", "driverId": "driver_id", "type": "type", "plate": "plate",
                     "isAvailable": "is_available", "createdAt": "created_at"},
        "bookings": {"id": "id", "userId": "user_id", "driverId": "driver_id", "vehicleId": "vehicle_id",
                     "serviceType": "service_type", "status": "status", "price": "price",
                     "scheduledDate": "scheduled_date", "createdAt": "created_at"},
        "payments": {"id": "id", "bookingId": "booking_id", "amount": "amount", "status": "status",
                     "createdAt": "created_at"},
        "organizations": {"id": "id", "name": "name", "createdAt": "created_at"},
        "modules": {"id": "id", "organizationId": "organization_id", "key": "key", "isActive": "is_active",
                    "createdAt": "created_at"},
    }
    extra = {}

    def timestamp(self, us):
        return micros_text(us, always_fraction=False)  # str(datetime): no fraction when µs == 0

    def money(self, cents):
        return decimal_text(cents)  # bound as text; NUMERIC affinity stores 12.5 REAL, 1200 INTEGER

    def rating(self, hundredths):
        return None if hundredths is None else decimal_text(hundredths)

    def enum(self, t, c, name):
        return name.lower()

    def unknown_status(self):
        return "no_show"

    def raw_timestamp_sql(self):
        return "'2024-07-15 12:00:00'", None

    @staticmethod
    def index_name(table, cols, suffix=""):
        h = format(zlib.crc32(f"{table}:{','.join(cols)}".encode()), "08x")
        return f"{table}_{'_'.join(cols)}_{h}{suffix}"

    def ddl(self):
        def fk(col, target):
            return f'"{col}" bigint NOT NULL REFERENCES "{target}" ("id") DEFERRABLE INITIALLY DEFERRED'

        def fk_null(col, target):
            return f'"{col}" bigint NULL REFERENCES "{target}" ("id") DEFERRABLE INITIALLY DEFERRED'
        pk = '"id" integer NOT NULL PRIMARY KEY AUTOINCREMENT'
        tables = [
            f'''CREATE TABLE "django_migrations" ({pk}, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL,
    "applied" datetime NOT NULL)''',
            f'''CREATE TABLE "rides_user" ({pk}, "email" varchar(254) NOT NULL UNIQUE, "name" varchar(150) NULL,
    "role" varchar(10) NOT NULL, "is_active" bool NOT NULL, "created_at" datetime NOT NULL)''',
            f'''CREATE TABLE "rides_driver" ({pk}, "is_available" bool NOT NULL, "rating" decimal NULL,
    "created_at" datetime NOT NULL, {fk("user_id", "rides_user")})''',
            f'''CREATE TABLE "rides_vehicle" ({pk}, "type" varchar(10) NOT NULL, "plate" varchar(20) NULL UNIQUE,
    "is_available" bool NOT NULL, "created_at" datetime NOT NULL, {fk_null("driver_id", "rides_driver")})''',
            f'''CREATE TABLE "rides_booking" ({pk}, "service_type" varchar(10) NOT NULL, "status" varchar(20) NOT NULL,
    "price" decimal NOT NULL, "scheduled_date" datetime NOT NULL, "created_at" datetime NOT NULL,
    {fk_null("driver_id", "rides_driver")}, {fk("user_id", "rides_user")}, {fk_null("vehicle_id", "rides_vehicle")})''',
            f'''CREATE TABLE "rides_payment" ({pk}, "amount" decimal NOT NULL, "status" varchar(20) NOT NULL,
    "created_at" datetime NOT NULL, {fk("booking_id", "rides_booking")})''',
            f'''CREATE TABLE "rides_organization" ({pk}, "name" varchar(100) NOT NULL, "created_at" datetime NOT NULL)''',
            f'''CREATE TABLE "rides_module" ({pk}, "key" varchar(50) NOT NULL, "is_active" bool NOT NULL,
    "created_at" datetime NOT NULL, {fk("organization_id", "rides_organization")})''',
        ]
        indexes = [f'CREATE INDEX "{self.index_name(t, [c])}" ON "{t}" ("{c}")' for t, c in [
            ("rides_driver", "user_id"), ("rides_vehicle", "driver_id"), ("rides_booking", "driver_id"),
            ("rides_booking", "user_id"), ("rides_booking", "vehicle_id"), ("rides_payment", "booking_id"),
            ("rides_module", "organization_id")]]
        indexes.append(f'CREATE UNIQUE INDEX "{self.index_name("rides_module", ["organization_id", "key"], "_uniq")}" '
                       'ON "rides_module" ("organization_id", "key")')
        return tables, indexes

    def bookkeeping(self, con):
        con.executemany('INSERT INTO "django_migrations" ("app", "name", "applied") VALUES (?, ?, ?)',
                        [("contenttypes", "0001_initial", "2024-01-01 00:00:00.000000"),
                         ("rides", "0001_initial", "2024-01-01 00:00:01.000000")])

    def conversion(self, table, c):
        if c in TIMESTAMP_COLUMNS:
            return {"timestamp": "iso8601"}
        if f"{table}.{c}" in MONEY_COLUMNS:
            return {"money": "major"}
        if f"{table}.{c}" in ENUMS:
            return {"values": {n.lower(): n for n in ENUMS[f"{table}.{c}"]}}
        return {}


class Rails(Orm):
    kind = "rails"
    legacy = False
    tables = {"users": "users", "drivers": "drivers", "vehicles": None, "bookings": "bookings",
              "payments": "payments", "organizations": "organizations", "modules": "modules"}
    columns = {
        "users": {"id": "id", "email": "email", "name": "name", "role": "role", "isActive": "is_active",
                  "createdAt": "created_at"},
        "drivers": {"id": "id", "userId": "user_id", "isAvailable": "is_available", "rating": "rating",
                    "createdAt": "created_at"},
        "vehicles": {},
        "bookings": {"id": "id", "userId": "user_id", "driverId": "driver_id", "vehicleId": None,
                     "serviceType": "service_type", "status": "status", "price": "price",
                     "scheduledDate": "scheduled_at", "createdAt": "created_at"},
        "payments": {"id": "id", "bookingId": "booking_id", "amount": "amount", "status": "status",
                     "createdAt": "created_at"},
        "organizations": {"id": "id", "name": "name", "createdAt": "created_at"},
        "modules": {"id": "id", "organizationId": "organization_id", "key": "key", "isActive": "is_active",
                    "createdAt": "created_at"},
    }
    extra = {t: ["updated_at"] for t in TALLY_TABLES if t != "vehicles"}
    # ActiveRecord integer enums: name → stored integer.
    codes = {
        "users.role": {"CUSTOMER": 0, "DRIVER": 1, "ADMIN": 2},
        "bookings.serviceType": {"RIDE": 0, "DELIVERY": 1, "RENTAL": 2},
        "bookings.status": {"PENDING": 0, "CONFIRMED": 1, "IN_PROGRESS": 2, "COMPLETED": 3, "CANCELLED": 4},
        "payments.status": {"PENDING": 0, "COMPLETED": 1, "FAILED": 2, "REFUNDED": 3},
    }

    def timestamp(self, us):
        return micros_text(us, always_fraction=True)  # datetime(6): always six digits

    def money(self, cents):
        return decimal_text(cents)

    def rating(self, hundredths):
        return None if hundredths is None else decimal_text(hundredths)

    def enum(self, t, c, name):
        return self.codes[f"{t}.{c}"][name]

    def unknown_status(self):
        return 9

    def raw_timestamp_sql(self):
        return "'2024-07-15 12:00:00'", "'2024-07-15 12:00:00'"

    def flag_sql_default(self, on):
        return ("'t'" if on else "'f'") if self.legacy else ("1" if on else "0")

    def ddl(self):
        ts = '"created_at" datetime(6) NOT NULL, "updated_at" datetime(6) NOT NULL'
        pk = '"id" integer PRIMARY KEY AUTOINCREMENT NOT NULL'

        def fk(table, col, target):
            h = format(zlib.crc32(f"{table}.{col}".encode()), "08x") + "a1"
            return f'CONSTRAINT "fk_rails_{h}" FOREIGN KEY ("{col}") REFERENCES "{target}" ("id")'
        on, off = self.flag_sql_default(True), self.flag_sql_default(False)
        tables = [
            'CREATE TABLE "schema_migrations" ("version" varchar NOT NULL PRIMARY KEY)',
            '''CREATE TABLE "ar_internal_metadata" ("key" varchar NOT NULL PRIMARY KEY, "value" varchar,
    "created_at" datetime(6) NOT NULL, "updated_at" datetime(6) NOT NULL)''',
            f'''CREATE TABLE "users" ({pk}, "email" varchar NOT NULL, "name" varchar, "role" integer DEFAULT 0 NOT NULL,
    "is_active" boolean DEFAULT {on} NOT NULL, {ts})''',
            f'''CREATE TABLE "drivers" ({pk}, "user_id" integer NOT NULL, "is_available" boolean DEFAULT {off} NOT NULL,
    "rating" decimal(3,2), {ts}, {fk("drivers", "user_id", "users")})''',
            f'''CREATE TABLE "bookings" ({pk}, "user_id" integer NOT NULL, "driver_id" integer,
    "service_type" integer DEFAULT 0 NOT NULL, "status" integer DEFAULT 0 NOT NULL, "price" decimal(10,2) NOT NULL,
    "scheduled_at" datetime(6) NOT NULL, {ts}, {fk("bookings", "user_id", "users")},
    {fk("bookings", "driver_id", "drivers")})''',
            f'''CREATE TABLE "payments" ({pk}, "booking_id" integer NOT NULL, "amount" decimal(10,2) NOT NULL,
    "status" integer DEFAULT 0 NOT NULL, {ts}, {fk("payments", "booking_id", "bookings")})''',
            f'''CREATE TABLE "organizations" ({pk}, "name" varchar NOT NULL, {ts})''',
            f'''CREATE TABLE "modules" ({pk}, "organization_id" integer NOT NULL, "key" varchar NOT NULL,
    "is_active" boolean DEFAULT {on} NOT NULL, {ts}, {fk("modules", "organization_id", "organizations")})''',
        ]
        indexes = [
            'CREATE UNIQUE INDEX "index_users_on_email" ON "users" ("email")',
            'CREATE INDEX "index_drivers_on_user_id" ON "drivers" ("user_id")',
            'CREATE INDEX "index_bookings_on_user_id" ON "bookings" ("user_id")',
            'CREATE INDEX "index_bookings_on_driver_id" ON "bookings" ("driver_id")',
            'CREATE INDEX "index_payments_on_booking_id" ON "payments" ("booking_id")',
            'CREATE INDEX "index_modules_on_organization_id" ON "modules" ("organization_id")',
            'CREATE UNIQUE INDEX "index_modules_on_organization_id_and_key" ON "modules" ("organization_id", "key")',
        ]
        return tables, indexes

    def bookkeeping(self, con):
        con.execute('INSERT INTO "schema_migrations" ("version") VALUES (\'20240101000000\')')
        con.execute('INSERT INTO "ar_internal_metadata" VALUES (\'environment\', \'production\', '
                    '\'2024-01-01 00:00:00.000000\', \'2024-01-01 00:00:00.000000\')')

    def conversion(self, table, c):
        if c in TIMESTAMP_COLUMNS:
            return {"timestamp": "iso8601"}
        if f"{table}.{c}" in MONEY_COLUMNS:
            return {"money": "major"}
        if f"{table}.{c}" in self.codes:
            return {"values": {str(v): n for n, v in self.codes[f"{table}.{c}"].items()}}
        if c in FLAG_COLUMNS and self.legacy:
            return {"boolean": True}
        return {}


class RailsLegacy(Rails):
    """A Rails app from before 6.0: booleans stored as 't'/'f' text."""
    kind = "rails-legacy"
    legacy = True

    def flag(self, on):
        return "t" if on else "f"


ORMS = {"prisma": Prisma, "django": Django, "rails": Rails, "rails-legacy": RailsLegacy}


def insert_row(con, orm, t, row, verb="INSERT"):
    """Inserts a logical row (Tally's column names and units) as `orm` stores it."""
    cols, vals = [], []
    for c, v in row.items():
        app = orm.column(t, c)
        if app is None:
            continue
        cols.append(app)
        vals.append(orm.encode(t, c, v))
    for app in orm.extra.get(t, []):  # updatedAt = createdAt on insert
        cols.append(app)
        vals.append(orm.encode(t, "createdAt", row.get("createdAt")))
    sql = (f"{verb} INTO {qi(orm.table(t))} ({', '.join(qi(c) for c in cols)}) "
           f"VALUES ({', '.join('?' for _ in cols)})")
    con.execute(sql, vals)


def update_row(con, orm, t, stored_id, changes, now_us):
    """Updates Tally columns of one row (by its stored id), and updatedAt, as the ORM does."""
    sets, vals = [], []
    for c, v in changes.items():
        sets.append(f"{qi(orm.column(t, c))} = ?")
        vals.append(orm.encode(t, c, v))
    for app in orm.extra.get(t, []):
        sets.append(f"{qi(app)} = ?")
        vals.append(orm.encode(t, "createdAt", now_us))
    con.execute(f"UPDATE {qi(orm.table(t))} SET {', '.join(sets)} WHERE \"id\" = ?", vals + [stored_id])


def raw_default_insert(con, orm, t, row):
    """A row inserted by hand-written SQL: createdAt from DEFAULT CURRENT_TIMESTAMP
    (Prisma) or an explicit 'YYYY-MM-DD HH:MM:SS' text (Django, Rails, whose
    columns have no default); None for ORMs with a database default means
    the column is omitted."""
    created_sql, updated_sql = orm.raw_timestamp_sql()
    cols, vals, exprs = [], [], []
    for c, v in row.items():
        app = orm.column(t, c)
        if app is None:
            continue
        cols.append(app)
        exprs.append("?")
        vals.append(orm.encode(t, c, v))
    if created_sql is not None:
        cols.append(orm.column(t, "createdAt"))
        exprs.append(created_sql)
    for app in orm.extra.get(t, []):
        cols.append(app)
        exprs.append(updated_sql)
    con.execute(f"INSERT INTO {qi(orm.table(t))} ({', '.join(qi(c) for c in cols)}) VALUES ({', '.join(exprs)})", vals)


# MARK: - build: seeded data with edge rows

START_US = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z
SPAN_US = 2 * 365 * 86_400_000_000  # ~2 years
MODULE_KEYS = ["analytics", "billing", "chat", "compliance", "crm", "dispatch", "fleet"]


def when(rng, lo_us=START_US, span_us=SPAN_US):
    """A random instant in µs; never an exact half millisecond (.xxx500 µs):
    SQLite's julianday() rounds ~1% of those down, where the contract rounds half up."""
    us = lo_us + rng.randrange(span_us)
    return us + 1 if us % 1000 == 500 else us


def pick(rng, weights):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def build(kind, out, seed, n_bookings):
    rng = random.Random(seed)
    orm = ORMS[kind]() if kind != "prisma" else Prisma(random.Random(seed + 1))
    for path in (out, out + "-wal", out + "-shm", out + "-journal"):
        if os.path.exists(path):
            os.remove(path)
    con = sqlite3.connect(out, isolation_level=None)
    con.execute("PRAGMA foreign_keys = ON")
    tables_sql, indexes_sql = orm.ddl()
    con.execute("BEGIN")
    for sql in tables_sql + indexes_sql:
        con.execute(sql)
    orm.bookkeeping(con)
    edges = []

    # users
    n_users = max(20, n_bookings * 2 // 3)
    users = []
    for i in range(1, n_users + 1):
        role = "ADMIN" if i == 1 else pick(rng, {"CUSTOMER": 88, "DRIVER": 9, "ADMIN": 3})
        users.append({"id": i, "email": f"user{i}@example.com", "name": f"User {i}", "role": role,
                      "isActive": rng.random() < 0.9, "createdAt": when(rng, span_us=SPAN_US * 3 // 4)})
    if orm.kind == "rails-legacy":  # rows written after an upgrade to Rails 6 hold integers
        users[-1]["isActive"], users[-2]["isActive"] = Raw(1), Raw(0)
        edges.append("users: the last two rows have is_active INTEGER 1 and 0 (written after an upgrade), the rest 't'/'f'")
    for u in users:
        insert_row(con, orm, "users", u)
    raw_default_insert(con, orm, "users", {"id": n_users + 1, "email": "raw-sql@example.com", "name": "Raw SQL",
                                           "role": "CUSTOMER", "isActive": True})
    edges.append("users: one row inserted by raw SQL, createdAt " +
                 ("from DEFAULT CURRENT_TIMESTAMP (TEXT 'YYYY-MM-DD HH:MM:SS', now)" if orm.kind == "prisma"
                  else "an explicit TEXT '2024-07-15 12:00:00'"))

    # drivers
    n_drivers = max(5, n_bookings // 5)
    driver_users = rng.sample(range(1, n_users + 1), n_drivers)
    for i in range(1, n_drivers + 1):
        rating = None if i == 1 or rng.random() < 0.15 else (500 if rng.random() < 0.1 else rng.randrange(250, 500))
        insert_row(con, orm, "drivers", {"id": i, "userId": driver_users[i - 1], "isAvailable": rng.random() < 0.4,
                                         "rating": rating, "createdAt": when(rng)})
    edges.append("drivers: driver 1 (and ~15% of others) has a NULL rating; ~10% are rated 5.00" +
                 (" (stored INTEGER 5 by the decimal column)" if orm.kind != "prisma" else ""))

    # vehicles
    n_vehicles = max(5, n_bookings // 4)
    if orm.table("vehicles") is not None:
        for i in range(1, n_vehicles + 1):
            insert_row(con, orm, "vehicles", {
                "id": i, "driverId": None if i == 1 or rng.random() < 0.1 else rng.randrange(1, n_drivers + 1),
                "type": pick(rng, {"CAR": 55, "MOTORBIKE": 20, "VAN": 15, "TRUCK": 10}),
                "plate": f"AB-{i:04d}", "isAvailable": rng.random() < 0.65, "createdAt": when(rng)})
        edges.append("vehicles: vehicle 1 (and ~10% of others) has a NULL driverId")
    else:
        edges.append("vehicles: the app has no vehicles table (and bookings no vehicle column)")

    # bookings
    bookings = []
    for i in range(1, n_bookings + 1):
        status = pick(rng, {"PENDING": 10, "CONFIRMED": 11, "IN_PROGRESS": 7, "COMPLETED": 58, "CANCELLED": 14})
        no_driver = i == 1 or status == "PENDING" or rng.random() < 0.05
        created = when(rng)
        cents = rng.randrange(5, 250) * 100 if rng.random() < 0.2 else rng.randrange(500, 25000)
        bookings.append({
            "id": i, "userId": rng.randrange(1, n_users + 1),
            "driverId": None if no_driver else rng.randrange(1, n_drivers + 1),
            "vehicleId": None if no_driver else rng.randrange(1, n_vehicles + 1),
            "serviceType": pick(rng, {"RIDE": 62, "DELIVERY": 28, "RENTAL": 10}),
            "status": "PENDING" if i == 1 else status, "price": cents,
            "scheduledDate": created + rng.randrange(0, 7 * 86_400_000_000), "createdAt": created})
    for b in bookings:
        insert_row(con, orm, "bookings", b)
    insert_row(con, orm, "bookings", {"id": n_bookings + 1, "userId": 1, "driverId": None, "vehicleId": None,
                                      "serviceType": "RIDE", "status": Raw(orm.unknown_status()), "price": 1500,
                                      "scheduledDate": when(rng), "createdAt": when(rng)})
    edges.append("bookings: booking 1 (and every PENDING one) has NULL driverId and vehicleId")
    edges.append(f"bookings: one booking with the unknown status {orm.unknown_status()!r}")
    if orm.kind != "prisma":
        edges.append("bookings: prices are decimal text binds, stored REAL (12.5) or INTEGER (whole amounts)")

    # payments
    payments = []
    for b in bookings:
        st = b["status"]
        if st == "COMPLETED":
            status = pick(rng, {"COMPLETED": 85, "REFUNDED": 15})
        elif st == "CANCELLED":
            status = pick(rng, {"REFUNDED": 40, "FAILED": 30, None: 30})
        else:
            status = pick(rng, {"PENDING": 70, "FAILED": 10, None: 20})
        if status is None:
            continue
        payments.append({"bookingId": b["id"], "amount": b["price"], "status": status,
                         "createdAt": when(rng, b["createdAt"], 2 * 86_400_000_000)})
    completed_bookings = [b["id"] for b in bookings if b["status"] == "COMPLETED"] or [1]
    edge_payments = [
        ("a COMPLETED payment exactly on a month boundary, 2024-03-01 00:00:00.000 UTC",
         {"amount": 4200, "createdAt": 1_709_251_200_000_000}),
        (f"a COMPLETED payment at {orm.late_second_text()!r} (rounds to 2024-04-01 00:00:00.000 UTC)",
         {"amount": 3100, "createdAt": Raw(orm.late_second_text())}),
        ("a COMPLETED payment with ISO text '2024-05-10T08:30:00Z'",
         {"amount": 2750, "createdAt": Raw("2024-05-10T08:30:00Z")}),
        ("a COMPLETED payment with ISO text '2024-06-01T01:30:00+02:00' (2024-05-31 23:30 UTC)",
         {"amount": 5300, "createdAt": Raw("2024-06-01T01:30:00+02:00")}),
        ("a COMPLETED payment of 19.99 (" + ("REAL" if orm.kind == "prisma" else "decimal: REAL 19.99") + ")",
         {"amount": 1999, "createdAt": 1_715_000_000_123_000}),
        ("a COMPLETED payment of 1200 (" + ("REAL 1200.0" if orm.kind == "prisma" else "decimal: INTEGER 1200") + ")",
         {"amount": 120000, "createdAt": 1_716_000_000_456_000}),
    ]
    if orm.kind == "prisma":
        edge_payments.append(("a COMPLETED payment whose createdAt is the REAL 1711929599999.5 (stays a float, March)",
                              {"amount": 800, "createdAt": Raw(1711929599999.5)}))
    for text, p in edge_payments:
        payments.append({"bookingId": rng.choice(completed_bookings), "status": "COMPLETED", **p})
        edges.append("payments: " + text)
    for i, p in enumerate(payments, start=1):
        insert_row(con, orm, "payments", {"id": i, **p})
    raw_default_insert(con, orm, "payments", {"id": len(payments) + 1, "bookingId": 1, "amount": 2500,
                                              "status": "PENDING"})
    edges.append("payments: one PENDING payment inserted by raw SQL, createdAt " +
                 ("from DEFAULT CURRENT_TIMESTAMP (TEXT, now) in the epoch-ms column" if orm.kind == "prisma"
                  else "an explicit TEXT '2024-07-15 12:00:00'"))
    if orm.kind == "prisma":
        edges.append("payments/bookings: every other time is INTEGER epoch ms; money is REAL major units")

    # organizations and modules
    n_orgs = max(4, n_bookings // 25)
    module_id = 0
    for i in range(1, n_orgs + 1):
        insert_row(con, orm, "organizations", {"id": i, "name": f"Org {i}", "createdAt": when(rng)})
    for i in range(2, n_orgs + 1):  # organization 1 has no module
        for key in rng.sample(MODULE_KEYS, rng.randrange(1, 7)):
            module_id += 1
            insert_row(con, orm, "modules", {"id": module_id, "organizationId": i, "key": key,
                                             "isActive": rng.random() < 0.75, "createdAt": when(rng)})
    edges.append("organizations: organization 1 has no module")
    con.execute("COMMIT")
    con.execute("PRAGMA foreign_key_check")
    con.close()
    map_path = write_map(out, orm)
    rows = {}
    with sqlite3.connect(out) as c:
        for t in TALLY_TABLES:
            if orm.table(t):
                rows[t] = c.execute(f"SELECT count(*) FROM {qi(orm.table(t))}").fetchone()[0]
    print(json.dumps({"db": out, "map": map_path, "kind": kind, "rows": rows, "edges": edges}, indent=2))


def write_map(out, orm):
    path = out + ".map.json"
    with open(path, "w") as f:
        json.dump(orm.schema_map(), f, indent=2)
        f.write("\n")
    return path


# MARK: - write: app-style writes on payments and bookings

class IdPool:
    """Stored ids of one table, kept in step with the writes (O(1) pick, add, remove)."""

    def __init__(self, con, table):
        self.ids = [r[0] for r in con.execute(f'SELECT "id" FROM {table}')]
        self.where = {v: i for i, v in enumerate(self.ids)}

    def __bool__(self):
        return bool(self.ids)

    def pick(self, rng):
        return rng.choice(self.ids)

    def add(self, v):
        self.where[v] = len(self.ids)
        self.ids.append(v)

    def remove(self, v):
        i = self.where.pop(v)
        last = self.ids.pop()
        if i < len(self.ids):
            self.ids[i] = last
            self.where[last] = i


WRITE_OPS = {"insert booking+payment": 3, "insert payment": 2, "update booking status": 3,
             "update payment status": 3, "update payment amount": 2, "update payment createdAt": 2,
             "delete payment": 1, "delete booking": 1}


def write(db, kind, seed, count):
    """`count` app-style writes, each its own committed transaction: first a
    raw-SQL payment insert using CURRENT_TIMESTAMP, then an INSERT OR REPLACE
    of an existing payment, then a seeded mix of WRITE_OPS."""
    rng = random.Random(seed)
    orm = ORMS[kind]() if kind != "prisma" else Prisma(random.Random(f"write:{seed}"))
    if not os.path.exists(db):
        raise RuntimeError(f"no database at {db}")
    con = sqlite3.connect(db, isolation_level=None, timeout=30)
    con.execute("PRAGMA foreign_keys = ON")
    B, P = qi(orm.table("bookings")), qi(orm.table("payments"))
    booking_fk = qi(orm.column("payments", "bookingId"))
    users, bookings, payments = IdPool(con, qi(orm.table("users"))), IdPool(con, B), IdPool(con, P)
    if not users or not bookings:
        raise RuntimeError(f"{db} has no users or bookings to write against")

    def new_id(now):
        """Prisma's client makes the id (a cuid); Django and Rails let AUTOINCREMENT assign it."""
        return {"id": Raw(orm.new_cuid(now // 1000))} if orm.kind == "prisma" else {}

    def inserted_id(row):
        return row["id"].value if "id" in row else con.execute("SELECT last_insert_rowid()").fetchone()[0]

    def raw_current_timestamp_payment(now):
        """Hand-written SQL: createdAt from CURRENT_TIMESTAMP (Prisma's column
        default; an explicit CURRENT_TIMESTAMP value for Django and Rails)."""
        row = {"bookingId": Raw(bookings.pick(rng)), "amount": rng.randrange(500, 20000), "status": "COMPLETED"}
        cols = [orm.column("payments", c) for c in row]
        vals = [orm.encode("payments", c, v) for c, v in row.items()]
        exprs = ["?"] * len(cols)
        if orm.kind == "prisma":
            cols, vals, exprs = ["id"] + cols, [orm.new_cuid(now // 1000)] + vals, ["?"] + exprs
        else:
            cols.append(orm.column("payments", "createdAt"))
            exprs.append("CURRENT_TIMESTAMP")
        for app in orm.extra.get("payments", []):
            cols.append(app)
            exprs.append("CURRENT_TIMESTAMP")
        con.execute(f"INSERT INTO {P} ({', '.join(qi(c) for c in cols)}) VALUES ({', '.join(exprs)})", vals)
        payments.add(vals[0] if orm.kind == "prisma" else con.execute("SELECT last_insert_rowid()").fetchone()[0])

    def replace_payment(now):
        target = payments.pick(rng)
        bid = con.execute(f'SELECT {booking_fk} FROM {P} WHERE "id" = ?', (target,)).fetchone()[0]
        insert_row(con, orm, "payments", {"id": Raw(target), "bookingId": Raw(bid),
                                          "amount": rng.randrange(500, 20000), "status": "COMPLETED",
                                          "createdAt": now}, verb="INSERT OR REPLACE")

    def insert_booking_and_payment(now):
        cents = rng.randrange(5, 250) * 100 if rng.random() < 0.3 else rng.randrange(500, 25000)
        status = pick(rng, {"PENDING": 2, "CONFIRMED": 1, "COMPLETED": 3})
        booking = {**new_id(now), "userId": Raw(users.pick(rng)), "driverId": None, "vehicleId": None,
                   "serviceType": pick(rng, {"RIDE": 3, "DELIVERY": 2, "RENTAL": 1}), "status": status,
                   "price": cents, "scheduledDate": now + 3_600_000_000, "createdAt": now}
        insert_row(con, orm, "bookings", booking)
        bookings.add(inserted_id(booking))
        payment = {**new_id(now + 1000), "bookingId": Raw(inserted_id(booking)), "amount": cents,
                   "status": "COMPLETED" if status == "COMPLETED" else "PENDING",
                   "createdAt": now + rng.randrange(0, 3_600_000_000)}
        insert_row(con, orm, "payments", payment)
        payments.add(inserted_id(payment))

    def insert_payment(now):
        payment = {**new_id(now), "bookingId": Raw(bookings.pick(rng)), "amount": rng.randrange(500, 20000),
                   "status": rng.choice(ENUMS["payments.status"]), "createdAt": now}
        insert_row(con, orm, "payments", payment)
        payments.add(inserted_id(payment))

    def delete_payment(now):
        target = payments.pick(rng)
        con.execute(f'DELETE FROM {P} WHERE "id" = ?', (target,))
        payments.remove(target)

    def delete_booking(now):
        """The app deletes the booking's payments first (the foreign keys restrict)."""
        target = bookings.pick(rng)
        for (pid,) in con.execute(f'SELECT "id" FROM {P} WHERE {booking_fk} = ?', (target,)).fetchall():
            payments.remove(pid)
        con.execute(f"DELETE FROM {P} WHERE {booking_fk} = ?", (target,))
        con.execute(f'DELETE FROM {B} WHERE "id" = ?', (target,))
        bookings.remove(target)

    actions = {
        "insert booking+payment": insert_booking_and_payment,
        "insert payment": insert_payment,
        "update booking status": lambda now: update_row(
            con, orm, "bookings", bookings.pick(rng), {"status": rng.choice(ENUMS["bookings.status"])}, now),
        "update payment status": lambda now: update_row(
            con, orm, "payments", payments.pick(rng), {"status": rng.choice(ENUMS["payments.status"])}, now),
        "update payment amount": lambda now: update_row(
            con, orm, "payments", payments.pick(rng), {"amount": rng.randrange(100, 30000)}, now),
        "update payment createdAt": lambda now: update_row(
            con, orm, "payments", payments.pick(rng), {"createdAt": when(rng)}, now),
        "delete payment": delete_payment,
        "delete booking": delete_booking,
    }
    done = {}
    for n in range(count):
        now = when(rng)
        if n == 0:
            op, action = "raw insert (CURRENT_TIMESTAMP)", raw_current_timestamp_payment
        elif n == 1 and payments:
            op, action = "insert or replace", replace_payment
        else:
            op = pick(rng, WRITE_OPS)
            if (op.startswith("update payment") or op == "delete payment") and not payments:
                op = "insert booking+payment"
            if op == "delete booking" and len(bookings.ids) < 2:
                op = "insert booking+payment"
            action = actions[op]
        con.execute("BEGIN IMMEDIATE")
        action(now)
        con.execute("COMMIT")
        done[op] = done.get(op, 0) + 1
    con.close()
    print(json.dumps({"db": db, "kind": kind, "writes": count, "operations": done}, indent=2))


# MARK: - shape: a native Tally database in an ORM's shape, at scale

def prisma_shape_sql():
    def cid(c):
        return f"'c' || printf('%024d', {c})"

    def cid_null(c):
        return f"CASE WHEN {c} IS NULL THEN NULL ELSE 'c' || printf('%024d', {c}) END"
    return [
        f'''INSERT INTO "User" ("id", "email", "name", "role", "isActive", "createdAt", "updatedAt")
            SELECT {cid("id")}, email, name, role, isActive, createdAt, createdAt FROM n.users''',
        f'''INSERT INTO "Driver" ("id", "userId", "isAvailable", "rating", "createdAt", "updatedAt")
            SELECT {cid("id")}, {cid("userId")}, isAvailable, rating, createdAt, createdAt FROM n.drivers''',
        f'''INSERT INTO "Vehicle" ("id", "driverId", "type", "plate", "isAvailable", "createdAt", "updatedAt")
            SELECT {cid("id")}, {cid_null("driverId")}, type, plate, isAvailable, createdAt, createdAt FROM n.vehicles''',
        f'''INSERT INTO "Booking" ("id", "userId", "driverId", "vehicleId", "serviceType", "status", "price",
                "scheduledDate", "createdAt", "updatedAt")
            SELECT {cid("id")}, {cid("userId")}, {cid_null("driverId")}, {cid_null("vehicleId")}, serviceType, status,
                price / 100.0, scheduledDate, createdAt, createdAt FROM n.bookings''',
        f'''INSERT INTO "Payment" ("id", "bookingId", "amount", "status", "createdAt", "updatedAt")
            SELECT {cid("id")}, {cid("bookingId")}, amount / 100.0, status, createdAt, createdAt FROM n.payments''',
        '''INSERT INTO "Organization" ("id", "name", "createdAt", "updatedAt")
            SELECT id, name, createdAt, createdAt FROM n.organizations''',
        f'''INSERT INTO "Module" ("id", "organizationId", "key", "isActive", "createdAt", "updatedAt")
            SELECT {cid("id")}, organizationId, key, isActive, createdAt, createdAt FROM n.modules''',
    ]


def django_shape_sql():
    def ts(c):
        """Epoch ms → Django's 'YYYY-MM-DD HH:MM:SS[.ffffff]' (no fraction on a whole second)."""
        ms = f"(({c} % 1000) + 1000) % 1000"
        base = f"strftime('%Y-%m-%d %H:%M:%S', ({c} - {ms}) / 1000, 'unixepoch')"
        return f"CASE WHEN {ms} = 0 THEN {base} ELSE {base} || '.' || printf('%03d', {ms}) || '000' END"

    def money(c):
        """Cents → the decimal text Django binds; NUMERIC affinity stores REAL or INTEGER."""
        return (f"(CASE WHEN {c} < 0 THEN '-' ELSE '' END) || (abs({c}) / 100) || '.' || "
                f"printf('%02d', abs({c}) % 100)")
    return [
        f'''INSERT INTO "rides_user" ("id", "email", "name", "role", "is_active", "created_at")
            SELECT id, email, name, lower(role), isActive, {ts("createdAt")} FROM n.users''',
        f'''INSERT INTO "rides_driver" ("id", "is_available", "rating", "created_at", "user_id")
            SELECT id, isAvailable, rating, {ts("createdAt")}, userId FROM n.drivers''',
        f'''INSERT INTO "rides_vehicle" ("id", "type", "plate", "is_available", "created_at", "driver_id")
            SELECT id, lower(type), plate, isAvailable, {ts("createdAt")}, driverId FROM n.vehicles''',
        f'''INSERT INTO "rides_booking" ("id", "service_type", "status", "price", "scheduled_date", "created_at",
                "driver_id", "user_id", "vehicle_id")
            SELECT id, lower(serviceType), lower(status), {money("price")}, {ts("scheduledDate")}, {ts("createdAt")},
                driverId, userId, vehicleId FROM n.bookings''',
        f'''INSERT INTO "rides_payment" ("id", "amount", "status", "created_at", "booking_id")
            SELECT id, {money("amount")}, lower(status), {ts("createdAt")}, bookingId FROM n.payments''',
        f'''INSERT INTO "rides_organization" ("id", "name", "created_at")
            SELECT rowid, name, {ts("createdAt")} FROM n.organizations''',
        f'''INSERT INTO "rides_module" ("id", "key", "is_active", "created_at", "organization_id")
            SELECT m.id, m.key, m.isActive, {ts("m.createdAt")},
                (SELECT o.rowid FROM n.organizations AS o WHERE o.id = m.organizationId) FROM n.modules AS m''',
    ]


def shape(kind, native, out):
    if not os.path.exists(native):
        raise RuntimeError(f"no database at {native}")
    orm = {"prisma": Prisma, "django": Django}[kind]()
    for path in (out, out + "-wal", out + "-shm", out + "-journal"):
        if os.path.exists(path):
            os.remove(path)
    con = sqlite3.connect(out, isolation_level=None)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -262144")
    con.execute("ATTACH DATABASE ? AS n", (native,))
    tables_sql, indexes_sql = orm.ddl()
    con.execute("BEGIN")
    for sql in tables_sql:
        con.execute(sql)
    orm.bookkeeping(con)
    for sql in (prisma_shape_sql() if kind == "prisma" else django_shape_sql()):
        con.execute(sql)
    for sql in indexes_sql:
        con.execute(sql)
    con.execute("COMMIT")
    con.execute("DETACH DATABASE n")
    con.close()
    print(json.dumps({"db": out, "map": write_map(out, orm), "kind": kind, "from": native}, indent=2))


# MARK: - Command line

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="a new ORM-shaped fixture database and its map")
    p.add_argument("--kind", required=True, choices=list(ORMS))
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bookings", type=int, default=300)
    p = sub.add_parser("reference", help="reference dashboard and revenue from raw rows")
    p.add_argument("--db", required=True)
    p.add_argument("--map", required=True)
    p.add_argument("--period", default="month")
    p.add_argument("--tz", default="UTC")
    p.add_argument("--from", dest="from_")
    p.add_argument("--to")
    p = sub.add_parser("write", help="app-style writes, one committed transaction each")
    p.add_argument("--db", required=True)
    p.add_argument("--kind", required=True, choices=list(ORMS))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count", type=int, required=True)
    p = sub.add_parser("shape", help="a native Tally database in an ORM's shape")
    p.add_argument("--kind", required=True, choices=["prisma", "django"])
    p.add_argument("--from", dest="from_", required=True)
    p.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            if args.bookings < 10:
                raise UsageError("--bookings must be at least 10")
            build(args.kind, args.out, args.seed, args.bookings)
        elif args.command == "reference":
            con, sources, absent = open_mapped(args.db, args.map)
            answer = {"dashboard": reference_dashboard(con, sources, absent),
                      "revenue": reference_revenue(con, sources, args.period, args.tz, args.from_, args.to),
                      "modules": reference_modules(con, sources)}
            con.close()
            print(json.dumps(answer, indent=2))
        elif args.command == "write":
            if args.count < 0:
                raise UsageError("--count must be at least 0")
            write(args.db, args.kind, args.seed, args.count)
        elif args.command == "shape":
            shape(args.kind, args.from_, args.out)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (RuntimeError, sqlite3.Error, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
