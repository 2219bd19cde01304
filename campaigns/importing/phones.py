"""Phone numbers for the recipient importer: messy spreadsheet cells in, E.164 out.

`normalize(country_code, phone_number)` returns `(e164, None)` or `(None, reason)`, where the
reason is a short sentence to show next to the row. It is exactly as strict as `phonenumbers`:

- The reference ("full path") builds `"+" + cc + national` and asks `phonenumbers.parse`,
  `is_valid_number` and `format_number(E164)`. Every rejection and its reason comes from it.
- The import budget cannot afford that (~35 µs a number), so clean numbers first go through a
  fast path: per-country-code tables, compiled lazily from the same metadata, that reproduce
  `region_code_for_number` + `_number_type_helper`. The fast path only ever *accepts*; whatever
  it does not accept goes to the full path. So its only possible mistake is accepting a number
  the library rejects, which tests/campaigns/test_phones.py checks it never does on a large
  sample drawn from every calling code.

Cell handling, decided here:
- Separators (spaces, dashes, dots, brackets, slashes) are ignored; a leading `+` means the
  number carries its own country code, which wins over the country_code column. A leading
  `00` is read as the international prefix only when the country_code column is empty.
- Excel floats are accepted only when exact: `4155550100.0`, `4.155550100E+09`. A mantissa
  that lost digits (`4.15555E+09`) is rejected, since the missing digits cannot be guessed.
- A number that repeats the country code (`44` + `447400123456`, Excel dropped the `+`) is
  accepted when it is invalid as written and valid without the repeat, as `phonenumbers.parse`
  itself does for a default region.
- Letters are rejected: WhatsApp needs the digits, so vanity numbers (`1-800-FLOWERS`) must be
  written out and extensions (`x123`, `ext. 12`) cannot be messaged at all. Only ASCII digits
  are read.
"""

import re

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumberFormat,
    ValidationResult,
)

from .readers import shown

MISSING_PHONE = "phone number missing"
MISSING_COUNTRY_CODE = "country code missing: fill country_code or start the number with +"
NOT_A_PHONE = "not a phone number"
UNKNOWN_PLUS_CODE = "the digits after + do not start with a known country code"
HAS_EXTENSION = "has an extension: WhatsApp cannot reach an extension, remove it"
HAS_LETTERS = "contains letters: write the number in digits"

# phonenumbers recompiles its metadata regexes through re's own 512-entry cache, which a sheet
# of many countries thrashes (a rejected number then costs ~100 µs instead of ~35 µs). The
# metadata is fixed, so keeping every pattern is bounded; the setting is process-wide and only
# changes speed.
phonenumbers.enable_pattern_cache()

_KNOWN_CODES = frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)
# Bounds phonenumbers enforces on a national significant number (_MIN/_MAX_LENGTH_FOR_NSN).
_NSN_MIN, _NSN_MAX = 2, 17
_NON_GEO = "001"
# The calling code that starts each three-digit prefix, as `_extract_country_code` finds it
# (shortest first; calling codes are prefix-free, so there is only ever one).
_CODE_BY_PREFIX = {
    prefix: next(prefix[:size] for size in (1, 2, 3) if prefix[:size] in _KNOWN_CODES)
    for prefix in map(str, range(100, 1000))
    if any(prefix[:size] in _KNOWN_CODES for size in (1, 2, 3))
}

_SEPARATORS = re.compile(r"[\s\-.()/\u2010-\u2015\u2212]+")
_EXCEL_INTEGER = re.compile(r"(\d+)\.0")
# Excel writes big numbers in General format as one digit, a fraction and a power of ten.
_EXCEL_SCIENTIFIC = re.compile(r"([0-9])(?:[.,]([0-9]*))?[eE]([+-]?[0-9]{1,3})")
_EXTENSION = re.compile(r"(?:e?xt(?:ension|n)?\.?|x|#|;ext=)\s*[0-9]{1,7}#?$", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")

# The number types `_number_type_helper` tries after the general description, in its order;
# mobile comes last and is skipped when its pattern equals fixed_line's.
_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)


class _Rejected(Exception):
    """A cell that is not a number at all; its message is the reason shown to the user."""


def normalize(
    country_code: str | float | None, phone_number: str | float | None
) -> tuple[str | None, str | None]:
    """Return `(e164, None)` for a valid number or `(None, reason)` for any other cell.

    Both cells may be strings or the ints/floats a spreadsheet reader hands back.
    """
    try:
        cc, digits = _prepare(country_code, phone_number)
    except _Rejected as rejected:
        return None, str(rejected)
    if cc is None:  # "+…" or "00…": the country code is the start of the digits
        code = _CODE_BY_PREFIX.get(digits[:3])
        if code is not None and _fast(code, digits[len(code) :]):
            return "+" + digits, None
        return _full(digits)
    if _fast(cc, digits):
        return "+" + cc + digits, None
    return _full_national(cc, digits)


def _normalize_full(country_code, phone_number) -> tuple[str | None, str | None]:
    """`normalize` without the fast path: the reference the benchmark measures against."""
    try:
        cc, digits = _prepare(country_code, phone_number)
    except _Rejected as rejected:
        return None, str(rejected)
    return _full(digits) if cc is None else _full_national(cc, digits)


def _prepare(country_code, phone_number) -> tuple[str | None, str]:
    """Read the two cells into `(cc, national digits)`, or `(None, digits with their cc)` for
    an international number; raise `_Rejected` for cells that hold no usable number."""
    phone = _cell_text(phone_number)
    if phone.isdigit() and phone.isascii():  # the common clean cells skip every regex
        compact = phone
    elif phone[:1] == "+" and phone[1:].isdigit() and phone.isascii():
        return None, phone[1:]
    else:
        if not phone:
            raise _Rejected(MISSING_PHONE)
        if "." in phone or "e" in phone or "E" in phone:
            phone = _from_excel_float(phone)
        compact = _SEPARATORS.sub("", phone.removeprefix("'"))
        if compact.startswith("+"):
            compact = compact[1:]
            _check_digits(compact, phone)
            return None, compact
        _check_digits(compact, phone)
    cc = _country_code(country_code)
    if cc is not None:
        return cc, compact
    if compact.startswith("00"):
        return None, compact[2:]
    raise _Rejected(MISSING_COUNTRY_CODE)


def _cell_text(value) -> str:
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 4155550100.0 from openpyxl; 1e16 would otherwise print as 1e+16
    return str(value).strip()


def _from_excel_float(text: str) -> str:
    if match := _EXCEL_INTEGER.fullmatch(text):
        return match[1]
    match = _EXCEL_SCIENTIFIC.fullmatch(text)
    if match is None:
        return text
    first, fraction, exponent = match[1], match[2] or "", int(match[3])
    if exponent < 0 or first == "0":
        raise _Rejected(NOT_A_PHONE)
    if len(fraction) < exponent:
        raise _Rejected(
            f"phone number in scientific notation ({shown(text)}) lost digits: "
            "format the column as text"
        )
    if fraction[exponent:].strip("0"):  # 4.1555501001E+09 is not a whole number
        raise _Rejected(NOT_A_PHONE)
    return first + fraction[:exponent]


def _check_digits(compact: str, phone: str) -> None:
    if compact.isdigit() and compact.isascii():
        return
    if _EXTENSION.search(phone) and sum(ch.isdigit() for ch in phone) > 6:
        raise _Rejected(HAS_EXTENSION)
    if _LETTER.search(compact) and sum(ch.isdigit() for ch in compact) >= 3:
        raise _Rejected(HAS_LETTERS)
    raise _Rejected(NOT_A_PHONE)


def _country_code(value) -> str | None:
    """The country_code cell as a known calling code, None when empty."""
    text = _cell_text(value)
    if text in _KNOWN_CODES:
        return text
    if not text:
        return None
    raw = text
    if _EXCEL_INTEGER.fullmatch(text):
        text = text[:-2]
    # "+44", "0044", "+1 ", "001": a plus and the international prefix are both decoration.
    text = _SEPARATORS.sub("", text).removeprefix("+").lstrip("0")
    if text in _KNOWN_CODES:
        return text
    raise _Rejected(f"country code {shown(raw)} does not exist")


def _full_national(cc: str, digits: str) -> tuple[str | None, str | None]:
    e164, reason = _full(cc + digits)
    if e164 is None and digits.startswith(cc) and len(digits) > len(cc):
        e164, _ = _full(digits)  # the country code typed twice, "+" lost by Excel
        if e164 is not None:
            return e164, None
    return e164, reason


def _full(international: str) -> tuple[str | None, str | None]:
    """The reference: what phonenumbers says about `+<international>`."""
    try:
        number = phonenumbers.parse("+" + international, None)
    except NumberParseException as error:
        return None, _PARSE_REASONS.get(error.error_type, NOT_A_PHONE)
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, PhoneNumberFormat.E164), None
    code = number.country_code
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.TOO_SHORT:
        return None, f"too short for a +{code} number"
    if possible == ValidationResult.TOO_LONG:
        return None, f"too long for a +{code} number"
    return None, f"not a valid number for +{code}"


_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: UNKNOWN_PLUS_CODE,
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short to be a phone number",
    NumberParseException.TOO_SHORT_NSN: "too short to be a phone number",
    NumberParseException.TOO_LONG: "too long to be a phone number",
}


# ---------------------------------------------------------------------------------------------
# Fast path. A table per calling code: (national_prefix_for_parsing, regions), where regions is
# a tuple of (leading_digits, {length: (general_pattern, any_type_pattern)}) in
# COUNTRY_CODE_TO_REGION_CODE order. None marks a code with no usable metadata.

_TABLES: dict[str, tuple | None] = {}


def _fast(cc: str, national: str) -> bool:
    """True when `+<cc><national>` (ASCII digits, cc known) is valid per the tables, in which
    case that string is already its E.164 form. False means "ask the full path"."""
    if not _NSN_MIN <= len(national) <= _NSN_MAX or national[0] == "0":
        return False  # a leading zero is kept as an Italian zero or stripped: not ours to guess
    try:
        table = _TABLES[cc]
    except KeyError:
        table = _TABLES[cc] = _build_table(int(cc))
    if table is None:
        return False
    national_prefix, regions = table
    if national_prefix is not None:
        match = national_prefix.match(national)
        # parse() may strip or transform this prefix; only an empty, capture-free match is inert
        if match and (match.end() or any(group is not None for group in match.groups())):
            return False
    for leading_digits, by_length in regions:
        patterns = by_length.get(len(national))
        valid = (
            patterns is not None
            and patterns[0].fullmatch(national) is not None
            and patterns[1].fullmatch(national) is not None
        )
        if leading_digits is None:
            if valid:
                return True
        elif leading_digits.match(national):
            return valid  # region_code_for_number picks this region, valid or not
    return False


def _build_table(code: int) -> tuple | None:
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions:
        return None
    main = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
    if main is None:
        return None
    prefix = main.national_prefix_for_parsing
    built = []
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is None:
            continue  # _region_code_for_number_from_list skips it too
        # A single region is chosen without looking at its leading digits.
        leading = metadata.leading_digits if len(regions) > 1 else None
        built.append((re.compile(leading) if leading else None, _length_table(metadata)))
    return (re.compile(prefix) if prefix else None), tuple(built)


def _length_table(metadata) -> dict:
    """For each NSN length: the general pattern and one alternation of every type pattern
    whose possible lengths admit it (`_is_number_matching_desc` checks lengths first)."""
    general = metadata.general_desc
    if general is None or not general.national_number_pattern:
        return {}
    descs = [getattr(metadata, name) for name in _TYPE_DESCS]
    if not metadata.same_mobile_and_fixed_line_pattern:
        descs.append(metadata.mobile)
    descs = [d for d in descs if d is not None and d.national_number_pattern]
    general_pattern = re.compile(general.national_number_pattern)
    table = {}
    for length in range(_NSN_MIN, _NSN_MAX + 1):
        if general.possible_length and length not in general.possible_length:
            continue
        alternatives = dict.fromkeys(
            d.national_number_pattern
            for d in descs
            if not d.possible_length or length in d.possible_length
        )
        if alternatives:
            any_type = re.compile("|".join(f"(?:{p})" for p in alternatives))
            table[length] = (general_pattern, any_type)
    return table
