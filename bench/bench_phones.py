"""Benchmark of the importer's phone normaliser: numbers per second through
`campaigns.importing.phones.normalize`, against the full phonenumbers path on the same cells.

300,000 rows drawn from valid numbers of ten large WhatsApp markets, 95 % clean (national
digits with a country_code cell, or `+` international), 5 % messy (separators, trunk zeros,
Excel floats, `00`, typos, junk). Target: ≥ 250,000 numbers/s (4 µs a row), the share of the
import budget (50,000 rows/s, whole pipeline) that phone numbers may take.
"""

import random
import time

import phonenumbers

from campaigns.importing import phones

ROWS = 300_000
MESSY_SHARE = 0.05
TARGET_PER_S = 250_000.0
# Rough weight of each market in a WhatsApp campaign list.
MARKETS = {
    "IN": 20,
    "BR": 15,
    "ID": 12,
    "MX": 10,
    "US": 10,
    "NG": 8,
    "DE": 7,
    "GB": 7,
    "ES": 6,
    "ZA": 5,
}
POOL_PER_MARKET = 2_000
# WhatsApp lists are mostly mobiles: four draws from the mobile example to one fixed line.
EXAMPLE_TYPES = (phonenumbers.PhoneNumberType.MOBILE,) * 4 + (
    phonenumbers.PhoneNumberType.FIXED_LINE,
)


def _pool(rng: random.Random, region: str) -> list[str]:
    """Valid national numbers: example mobile and fixed-line numbers with their subscriber
    digits redrawn, kept only when phonenumbers accepts them."""
    cc = phonenumbers.country_code_for_region(region)
    examples = [
        phonenumbers.national_significant_number(n)
        for t in EXAMPLE_TYPES
        if (n := phonenumbers.example_number_for_type(region, t))
    ]
    pool: set[str] = set()
    while len(pool) < POOL_PER_MARKET:
        nsn = rng.choice(examples)
        keep = rng.randint(3, 4)
        national = nsn[:keep] + "".join(rng.choice("0123456789") for _ in nsn[keep:])
        number = phonenumbers.parse(f"+{cc}{national}")
        if phonenumbers.is_valid_number(number):
            pool.add(national)
    return sorted(pool)


def _messy(rng: random.Random, cc: str, national: str, prefix: str) -> tuple[str, str]:
    kind = rng.randrange(8)
    if kind == 0:
        return f"+{cc}", " ".join((national[:3], national[3:6], national[6:]))
    if kind == 1:
        return cc, prefix + national
    if kind == 2:
        return f"{cc}.0", f"{national}.0"
    if kind == 3:
        return "", f"00{cc}{national}"
    if kind == 4:
        return cc, f"{national[0]}.{national[1:]}E+{len(national) - 1:02d}"
    if kind == 5:
        return cc, national[:-2]  # a typo: too short
    if kind == 6:
        return "", national  # the country_code column left empty
    return cc, rng.choice(("n/a", "-", "1-800-FLOWERS", "ask reception", "0"))


def _rows() -> list[tuple[str, str]]:
    rng = random.Random(42)
    markets = list(MARKETS)
    pools = {region: _pool(rng, region) for region in markets}
    ccs = {region: str(phonenumbers.country_code_for_region(region)) for region in markets}
    prefixes = {
        region: phonenumbers.ndd_prefix_for_region(region, True) or "" for region in markets
    }
    rows = []
    for region in rng.choices(markets, weights=list(MARKETS.values()), k=ROWS):
        cc, national = ccs[region], rng.choice(pools[region])
        if rng.random() < MESSY_SHARE:
            rows.append(_messy(rng, cc, national, prefixes[region]))
        elif rng.random() < 0.5:
            rows.append((cc, national))
        else:
            rows.append(("", f"+{cc}{national}"))
    return rows


def _took_fast_path(country_code: str, phone_number: str) -> bool:
    try:
        cc, digits = phones._prepare(country_code, phone_number)
    except phones._Rejected:
        return False
    if cc is None:
        cc = phones._CODE_BY_PREFIX.get(digits[:3])
        return cc is not None and phones._fast(cc, digits[len(cc) :])
    return phones._fast(cc, digits)


def _timed(fn, rows) -> tuple[float, list]:
    started = time.perf_counter()
    results = [fn(cc, phone) for cc, phone in rows]
    return time.perf_counter() - started, results


def run() -> list[dict]:
    rows = _rows()
    # Best of three: the first pass also compiles the markets' tables, once per process.
    fast_s, fast_results = min(
        (_timed(phones.normalize, rows) for _ in range(3)), key=lambda timed: timed[0]
    )
    full_s, full_results = _timed(phones._normalize_full, rows)
    differing = sum(a[0] != b[0] for a, b in zip(fast_results, full_results, strict=True))
    share = 100.0 * sum(_took_fast_path(cc, phone) for cc, phone in rows) / len(rows)
    rejected = 100.0 * sum(e164 is None for e164, _ in fast_results) / len(rows)
    fast_rate, full_rate = len(rows) / fast_s, len(rows) / full_s
    return [
        {
            "name": "normalize(), numbers/s",
            "value": fast_rate,
            "unit": "numbers/s",
            "target": f">= {TARGET_PER_S:,.0f}",
            "ok": fast_rate >= TARGET_PER_S,
        },
        {
            "name": "full phonenumbers path only, numbers/s",
            "value": full_rate,
            "unit": "numbers/s",
            "target": None,
            "ok": None,
        },
        {
            "name": "speed-up over the full path",
            "value": fast_rate / full_rate,
            "unit": "x",
            "target": None,
            "ok": None,
        },
        {
            "name": "rows taking the fast path",
            "value": share,
            "unit": "%",
            "target": ">= 90",
            "ok": share >= 90.0,
        },
        {"name": "rows rejected", "value": rejected, "unit": "%", "target": None, "ok": None},
        {
            "name": "results differing from the full path",
            "value": float(differing),
            "unit": "rows",
            "target": "0",
            "ok": differing == 0,
        },
    ]
