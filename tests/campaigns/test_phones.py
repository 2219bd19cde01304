"""campaigns.importing.phones: messy cells, and the proof that the fast path is exactly as strict
as phonenumbers itself."""

import random

import phonenumbers
import pytest
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumberFormat,
    PhoneNumberType,
)

from campaigns.importing import phones
from campaigns.importing.phones import normalize

# ~10 s on the 2-core dev box: phonenumbers' full path is ~25 µs a number and runs twice for
# every input (once as the reference, once as normalize's fallback for the rejected half).
PROOF_SAMPLE = 200_000
BENCH_REGIONS = ("US", "GB", "IN", "BR", "DE", "MX", "ID", "NG", "ZA", "ES")
_DESCS = ("general_desc", *phones._TYPE_DESCS, "mobile")
_TYPES = [t for t in PhoneNumberType.values() if t != PhoneNumberType.UNKNOWN]


def _library_e164(international: str) -> str | None:
    """phonenumbers' own verdict on `+<international>`, called the documented way."""
    try:
        number = phonenumbers.parse("+" + international, None)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _reference(country_code, phone_number) -> str | None:
    """The full path, independent of phones.py except for reading the cells."""
    try:
        cc, digits = phones._prepare(country_code, phone_number)
    except phones._Rejected:
        return None
    if cc is None:
        return _library_e164(digits)
    e164 = _library_e164(cc + digits)
    if e164 is None and digits.startswith(cc) and len(digits) > len(cc):
        e164 = _library_e164(digits)  # the country code typed twice (module docstring)
    return e164


def _seeds() -> list[tuple[str, str, str]]:
    """(calling code, national number, national prefix) from every example number of every
    region and non-geographic entity, so every calling code in the library is covered."""
    seeds = set()
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
            prefix = metadata.national_prefix or "0"
            if region == phones._NON_GEO:
                examples = [getattr(metadata, name) for name in _DESCS]
                nsns = [desc.example_number for desc in examples if desc and desc.example_number]
            else:
                numbers = (phonenumbers.example_number_for_type(region, t) for t in _TYPES)
                nsns = [phonenumbers.national_significant_number(n) for n in numbers if n]
            seeds.update((str(code), nsn, prefix) for nsn in nsns)
    return sorted(seeds)


def _mutate(rng: random.Random, nsn: str, prefix: str, cc: str) -> str:
    kind = rng.randrange(10)
    digits = "0123456789"
    if kind <= 2:  # keep the leading digits: mostly valid numbers, the fast path's bread
        keep = rng.randrange(1, len(nsn) + 1)
        return nsn[:keep] + "".join(rng.choice(digits) for _ in nsn[keep:])
    if kind == 3:
        chars = list(nsn)
        for _ in range(rng.randint(1, 3)):
            chars[rng.randrange(len(chars))] = rng.choice(digits)
        return "".join(chars)
    if kind == 4:  # one to three digits too few or too many
        if rng.random() < 0.5:
            return nsn[: max(1, len(nsn) - rng.randint(1, 3))]
        return nsn + "".join(rng.choice(digits) for _ in range(rng.randint(1, 3)))
    if kind == 5:
        return rng.choice((prefix, "0", "00", "1", "8", "9")) + nsn
    if kind == 6:
        return cc + nsn
    if kind == 7:
        return "".join(rng.choice(digits) for _ in range(rng.randint(1, 19)))
    return nsn


def _scientific(digits: str, keep: int) -> str:
    return f"{digits[0]}.{digits[1 : 1 + keep]}E+{len(digits) - 1:02d}"


def _dress(rng: random.Random, digits: str) -> str:
    out = []
    for ch in digits:
        if rng.random() < 0.2:
            out.append(rng.choice((" ", "-", ".", "(", ")", "/", "\u00a0", " - ")))
        out.append(ch)
    return "".join(out)


def _cell_pair(rng: random.Random, cc: str, national: str, codes: list[str]):
    form = rng.randrange(16)
    if form <= 3:
        return rng.choice((cc, cc, "+" + cc, "00" + cc, cc + ".0", f" {cc} ")), national
    if form == 4:
        return cc, _dress(rng, national)
    if form == 5:
        return rng.choice(("", "", rng.choice(codes))), "+" + cc + rng.choice(("", " ")) + national
    if form == 6:
        return rng.choice(("", cc)), "00" + cc + national
    if form == 7:
        return rng.choice(("", cc)), _dress(rng, "+" + cc + national)
    if form == 8:
        return cc, national + ".0"
    if form == 9 and len(national) > 1:
        keep = len(national) - 1 - rng.choice((0, 0, 1, 3))
        return cc, _scientific(national, max(keep, 0))
    if form == 10:
        return rng.choice(("", "999", "0", "abc", "12")), national
    if form == 11:
        junk = "".join(rng.choice("0123456789+-() .xXeE#abc/") for _ in range(rng.randint(0, 14)))
        return rng.choice(("", cc)), junk
    if form == 12:
        return int(cc), float(national) if national else ""
    return cc, national


def _proof_sample(size: int) -> list[tuple]:
    rng = random.Random(20_240_611)
    seeds = _seeds()
    codes = [cc for cc, _, _ in seeds]
    sample = []
    while len(sample) < size:
        for cc, nsn, prefix in seeds:
            sample.append(_cell_pair(rng, cc, _mutate(rng, nsn, prefix, cc), codes))
    return sample[:size]


def _prepares(pair) -> bool:
    try:
        phones._prepare(*pair)
    except phones._Rejected:
        return False
    return True


def test_normalize_is_exactly_as_strict_as_phonenumbers():
    # given a deterministic sample built from every calling code's example numbers
    sample = _proof_sample(PROOF_SAMPLE)
    covered = {phones._prepare(*pair)[0] for pair in sample[:50_000] if _prepares(pair)}
    assert {str(code) for code in COUNTRY_CODE_TO_REGION_CODE} <= covered
    # when / then
    mismatches, accepted = [], 0
    for pair in sample:
        e164, reason = normalize(*pair)
        expected = _reference(*pair)
        if e164 != expected or (e164 is None) == (reason is None):
            mismatches.append((pair, e164, reason, expected))
        accepted += e164 is not None
    assert mismatches == []
    # both outcomes must be well represented, or the proof proves little
    assert 0.2 < accepted / len(sample) < 0.8


def test_calling_code_lookup_agrees_with_phonenumbers():
    for prefix in map(str, range(100, 1000)):
        try:
            expected = str(phonenumbers.parse(f"+{prefix}234567", None).country_code)
        except NumberParseException:
            expected = None
        assert phones._CODE_BY_PREFIX.get(prefix) == expected, prefix


@pytest.mark.parametrize(
    ("country_code", "phone_number", "expected"),
    [
        # country code cells
        ("+1", "2015550123", "+12015550123"),
        ("1", "2015550123", "+12015550123"),
        ("001", "2015550123", "+12015550123"),
        (" 44 ", "7400 123456", "+447400123456"),
        ("1.0", "2015550123", "+12015550123"),
        (1, 2015550123, "+12015550123"),
        (44.0, 7400123456.0, "+447400123456"),
        # separators and trunk prefixes
        ("1", "(201) 555-0123", "+12015550123"),
        ("1", "201.555.0123", "+12015550123"),
        ("1", "1 201 555 0123", "+12015550123"),
        ("44", "07400 123456", "+447400123456"),
        ("44", "'07400 123456", "+447400123456"),
        ("49", "0151 2345 6789", "+4915123456789"),
        ("55", "(11) 96123-4567", "+5511961234567"),
        ("91", "081234\u00a056789", "+918123456789"),
        # Excel floats, exact only
        ("1", "2015550123.0", "+12015550123"),
        ("1", "2.015550123E+09", "+12015550123"),
        ("1", "2,015550123E+09", "+12015550123"),
        ("44", "7.400123456E+09", "+447400123456"),
        # international forms
        ("", "+44 7400 123456", "+447400123456"),
        ("1", "+44 7400 123456", "+447400123456"),  # the phone's own code wins
        ("999", "+44 7400 123456", "+447400123456"),
        ("", "(+44) 7400-123456", "+447400123456"),
        ("", "+44 (0)7400 123456", "+447400123456"),
        ("", "0044 7400 123456", "+447400123456"),
        ("44", "447400123456", "+447400123456"),  # Excel dropped the +
        ("52", "222 123 4567", "+522221234567"),
        ("62", "0812-345-678", "+62812345678"),
        ("234", "0802 123 4567", "+2348021234567"),
        ("27", "071 123 4567", "+27711234567"),
        ("34", "612 34 56 78", "+34612345678"),
        ("800", "1234 5678", "+80012345678"),
    ],
)
def test_messy_cells_are_read(country_code, phone_number, expected):
    assert normalize(country_code, phone_number) == (expected, None)


@pytest.mark.parametrize(
    ("country_code", "phone_number", "reason"),
    [
        (
            "1",
            "4.15555E+09",
            "phone number in scientific notation (4.15555E+09) lost digits: "
            "format the column as text",
        ),
        ("1", "2.0155501231E+09", phones.NOT_A_PHONE),
        ("", "2015550123", phones.MISSING_COUNTRY_CODE),
        ("", "447400123456", phones.MISSING_COUNTRY_CODE),
        ("999", "2015550123", "country code 999 does not exist"),
        ("0", "2015550123", "country code 0 does not exist"),
        ("1", "", phones.MISSING_PHONE),
        (None, None, phones.MISSING_PHONE),
        ("1", "n/a", phones.NOT_A_PHONE),
        ("1", "#N/A", phones.NOT_A_PHONE),
        ("1", "++12015550123", phones.NOT_A_PHONE),
        ("1", "1-800-FLOWERS", phones.HAS_LETTERS),
        ("1", "201 555 0123 x12", phones.HAS_EXTENSION),
        ("1", "201-555-0123 ext. 4", phones.HAS_EXTENSION),
        ("", "+999 123456", phones.UNKNOWN_PLUS_CODE),
        ("44", "0044 7400 123456", "too long for a +44 number"),  # 00 needs an empty column
        ("1", "201555012", "too short for a +1 number"),
        ("1", "0201555012", "not a valid number for +1"),
        ("44", "1", "too short to be a phone number"),
        ("1", "\u0662\u0660\u0661\u0665\u0665\u0665\u0660\u0661\u0662\u0663", phones.NOT_A_PHONE),
    ],
)
def test_unusable_cells_are_rejected_with_a_reason(country_code, phone_number, reason):
    assert normalize(country_code, phone_number) == (None, reason)


def _clean_valid_numbers(regions, per_region: int) -> list[tuple[str, str]]:
    """Valid national numbers as they arrive in a clean sheet: example numbers with their
    subscriber digits redrawn, kept only when phonenumbers accepts them."""
    rng = random.Random(7)
    out = []
    for region in regions:
        cc = str(phonenumbers.country_code_for_region(region))
        examples = [phonenumbers.example_number_for_type(region, t) for t in _TYPES]
        nsns = [phonenumbers.national_significant_number(n) for n in examples if n]
        found, attempts = 0, 0
        while found < per_region and attempts < per_region * 20:
            attempts += 1
            nsn = rng.choice(nsns)
            keep = rng.randrange(1, len(nsn))
            national = nsn[:keep] + "".join(rng.choice("0123456789") for _ in nsn[keep:])
            if _library_e164(cc + national) == f"+{cc}{national}":
                out.append((cc, national))
                found += 1
    return out


def test_fast_path_takes_nearly_every_clean_number_of_the_main_markets():
    numbers = _clean_valid_numbers(BENCH_REGIONS, per_region=500)
    fast = sum(phones._fast(cc, national) for cc, national in numbers)
    assert fast / len(numbers) > 0.99


def test_fast_path_takes_most_clean_numbers_everywhere():
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    numbers = _clean_valid_numbers(regions, per_region=20)
    fast = sum(phones._fast(cc, national) for cc, national in numbers)
    assert fast / len(numbers) > 0.9
