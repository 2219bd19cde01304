"""Validation of one recipient row against the campaign's template."""

import sys
import time
from dataclasses import dataclass, field

from whatsapp.offers import expiration_ms, format_expiry
from whatsapp.payload import _BAD_TEXT, _TEXT_KINDS, check_value
from whatsapp.variables import BODY_TEXT_MAX, Variable

from .phones import normalize
from .readers import FileRejected, shown

PHONE_COLUMN = "phone_number"
COUNTRY_COLUMN = "country_code"
MAX_CELL_SHOWN = 200
# Unknown columns named one by one in the report's warnings, and their names' length there.
UNKNOWN_COLUMNS_SHOWN = 20
COLUMN_NAME_SHOWN = 60
# What whatsapp.payload._BAD_TEXT forbids in a text value, restated as substring tests.
_BAD_TEXT_RULE = r"[\n\r\t]| {5,}"


def _expired(column: str, value: str) -> str | None:
    """A limited-time offer already over when imported could only be skipped at send time:
    refused here instead, with its date."""
    ms = expiration_ms(value)
    if ms is not None and ms <= time.time() * 1000:
        expires, _ = format_expiry(ms, ms)
        return f"{column}: the offer expired on {expires}"
    return None


def printable(text: str) -> str:
    return text.replace("\x00", "\ufffd")


@dataclass(slots=True)
class Problem:
    line: int
    column: str
    reason: str
    value: str = ""
    kind: str = "rejected"

    def __post_init__(self):
        # Shown to the user and stored (PostgreSQL refuses NUL in text and JSON): a cell's
        # NUL characters appear as U+FFFD.
        if "\x00" in self.value or "\x00" in self.reason:
            self.value = printable(self.value)
            self.reason = printable(self.reason)

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
            "value": self.value,
            "kind": self.kind,
        }


@dataclass
class RowChecker:
    """Checks rows for one template; build it once per import with `for_columns`."""

    variables: list[Variable]
    warnings: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    # The file's header cells, blank ones included (RowSource.header_cells): a longer row is
    # rejected. None: rows are never longer than `columns` (RowSource.lists trims them).
    header_cells: int | None = None
    # whatsapp.variables.body_text_parts: the body's length without its placeholders and
    # how many times each body column is written into it, for Meta's cap on the whole body.
    body_static: int = 0
    body_times: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        # Where each cell is in a row list, worked out once per file: -1 for an absent column.
        at = {name: i for i, name in reversed(list(enumerate(self.columns))) if name}
        self._phone_at = at.get(PHONE_COLUMN, -1)
        self._country_at = at.get(COUNTRY_COLUMN, -1)
        self._width = len(self.columns)
        times = self.body_times
        # (variable, cell index, times its value is written into the body)
        self._slots = [(v, at.get(v.column, -1), times.get(v.column, 0)) for v in self.variables]
        # The most characters the body's values may add up to (Meta caps the whole body), and
        # the quick path's bound on all of a row's texts joined: with no value written into the
        # body more than m = max(body_times) times, the body is at most
        # body_static + m * len(joined).
        self._body_room = self._quick_room = sys.maxsize
        if times:
            self._body_room = BODY_TEXT_MAX - self.body_static
            self._quick_room = max(self._body_room, -1) // max(times.values())
        # The quick test for a whole row, when every variable is a text value in the file: all
        # present, none blank, none longer than the smallest limit, none with a line break, a
        # tab or 5 spaces in a row. It accepts only rows check_value accepts (anything else
        # goes through check_value), and only while _BAD_TEXT is the rule it restates.
        quick = (
            _BAD_TEXT.pattern == _BAD_TEXT_RULE
            and self.variables
            and all(v.kind in _TEXT_KINDS for v in self.variables)
            and all(i >= 0 for _, i, _ in self._slots)
        )
        self._quick = (
            (
                [i for _, i, _ in self._slots],
                [v.column for v in self.variables],
                min(v.max_length or sys.maxsize for v in self.variables),
                self._quick_room,
            )
            if quick
            else None
        )

    @classmethod
    def for_columns(
        cls,
        variables: list[Variable],
        columns: list[str],
        *,
        header_cells: int | None = None,
        body: tuple[int, dict[str, int]] = (0, {}),
    ) -> "RowChecker":
        present = set(columns)
        missing = [PHONE_COLUMN] if PHONE_COLUMN not in present else []
        missing += [v.column for v in variables if v.required and v.column not in present]
        if missing:
            names = ", ".join(missing)
            plural = "columns" if len(missing) > 1 else "column"
            raise FileRejected(
                f"Missing required {plural}: {names}. Download the template's sample to see "
                "the expected columns."
            )
        known = {PHONE_COLUMN, COUNTRY_COLUMN, *(v.column for v in variables)}
        unknown = [c for c in columns if c and c not in known]
        warnings = [
            printable(
                f"Column {shown(c, COLUMN_NAME_SHOWN)!r} is not used by this template and was "
                "ignored."
            )
            for c in unknown[:UNKNOWN_COLUMNS_SHOWN]
        ]
        if len(unknown) > UNKNOWN_COLUMNS_SHOWN:
            more = len(unknown) - UNKNOWN_COLUMNS_SHOWN
            warnings.append(f"… and {more} more unknown columns were ignored.")
        static, times = body
        return cls(
            variables=variables,
            warnings=warnings,
            columns=list(columns),
            header_cells=header_cells,
            body_static=static,
            body_times=dict(times),
        )

    def check(self, line: int, cells: dict[str, str]) -> tuple[str | None, dict, list[Problem]]:
        """(E.164 phone, values to store, problems); the row is valid when problems is []."""
        return self.check_list(line, [cells.get(c, "") for c in self.columns])

    def check_list(self, line: int, cells: list[str]) -> tuple[str | None, dict, list[Problem]]:
        """`check` for a row as a list under `columns` (RowSource.lists)."""
        if len(cells) > self._width:
            return None, {}, [self._too_wide(line, cells)]
        problems: list[Problem] = []
        raw_phone = cells[self._phone_at] if self._phone_at >= 0 else ""
        country = cells[self._country_at] if self._country_at >= 0 else ""
        phone, reason = normalize(country, raw_phone)
        if reason is not None:
            problems.append(Problem(line, PHONE_COLUMN, reason, raw_phone[:MAX_CELL_SHOWN]))
        if self._quick is not None:
            at, names, limit, room = self._quick
            texts = [cells[i] for i in at]
            joined = "\x01".join(texts)  # no forbidden sequence can span the separator
            if (
                all(texts)
                and "\x00" not in joined
                and "\n" not in joined
                and "\r" not in joined
                and "\t" not in joined
                and "     " not in joined
                and max(map(len, texts)) <= limit
                and len(joined) <= room
                and not any(map(str.isspace, texts))
            ):
                return phone, dict(zip(names, texts, strict=True)), problems
        values = {}
        body = 0
        for variable, at, times in self._slots:
            value = cells[at] if at >= 0 else ""
            message = check_value(variable, value)
            if message is None and variable.kind == "expiration" and value.strip():
                message = _expired(variable.column, value)
            if message is not None:
                problems.append(Problem(line, variable.column, message, value[:MAX_CELL_SHOWN]))
            elif value:
                values[variable.column] = value
                body += times * len(value)
        if body > self._body_room:
            problems.append(self._body_too_long(line, values))
        return phone, values, problems

    def _too_wide(self, line: int, cells: list[str]) -> Problem:
        header = self.header_cells or self._width
        return Problem(
            line,
            "",
            f"the row has {len(cells)} cells but the header has {header} columns: a comma "
            "inside a value needs quotes",
            shown(",".join(cells)),
        )

    def _body_too_long(self, line: int, values: dict[str, str]) -> Problem:
        times = self.body_times
        length = self.body_static + sum(n * len(values.get(c, "")) for c, n in times.items())
        longest = max(times, key=lambda c: times[c] * len(values.get(c, "")))
        return Problem(
            line,
            longest,
            f"the message body would be {length} characters long with these values; Meta "
            f"allows at most {BODY_TEXT_MAX} (shorten {longest})",
            shown(values.get(longest, "")),
        )
