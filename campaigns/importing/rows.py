"""Validation of one recipient row against the campaign's template."""

import sys
from dataclasses import dataclass, field

from templates_app.variables import Variable
from whatsapp.payload import _BAD_TEXT, _TEXT_KINDS, check_value

from .phones import normalize
from .readers import FileRejected

PHONE_COLUMN = "phone_number"
COUNTRY_COLUMN = "country_code"
MAX_CELL_SHOWN = 200
# What whatsapp.payload._BAD_TEXT forbids in a text value, restated as substring tests.
_BAD_TEXT_RULE = r"[\n\r\t]| {5,}"


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

    def __post_init__(self):
        # Where each cell is in a row list, worked out once per file: -1 for an absent column.
        at = {name: i for i, name in reversed(list(enumerate(self.columns))) if name}
        self._phone_at = at.get(PHONE_COLUMN, -1)
        self._country_at = at.get(COUNTRY_COLUMN, -1)
        self._slots = [(v, at.get(v.column, -1)) for v in self.variables]
        # The quick test for a whole row, when every variable is a text value in the file: all
        # present, none blank, none longer than the smallest limit, none with a line break, a
        # tab or 5 spaces in a row. It accepts only rows check_value accepts (anything else
        # goes through check_value), and only while _BAD_TEXT is the rule it restates.
        quick = (
            _BAD_TEXT.pattern == _BAD_TEXT_RULE
            and self.variables
            and all(v.kind in _TEXT_KINDS for v in self.variables)
            and all(i >= 0 for _, i in self._slots)
        )
        self._quick = (
            (
                [i for _, i in self._slots],
                [v.column for v in self.variables],
                min(v.max_length or sys.maxsize for v in self.variables),
            )
            if quick
            else None
        )

    @classmethod
    def for_columns(cls, variables: list[Variable], columns: list[str]) -> "RowChecker":
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
        warnings = [
            printable(f"Column {c!r} is not used by this template and was ignored.")
            for c in columns
            if c and c not in known
        ]
        return cls(variables=variables, warnings=warnings, columns=list(columns))

    def check(self, line: int, cells: dict[str, str]) -> tuple[str | None, dict, list[Problem]]:
        """(E.164 phone, values to store, problems); the row is valid when problems is []."""
        return self.check_list(line, [cells.get(c, "") for c in self.columns])

    def check_list(self, line: int, cells: list[str]) -> tuple[str | None, dict, list[Problem]]:
        """`check` for a row as a list under `columns` (RowSource.lists)."""
        problems: list[Problem] = []
        raw_phone = cells[self._phone_at] if self._phone_at >= 0 else ""
        country = cells[self._country_at] if self._country_at >= 0 else ""
        phone, reason = normalize(country, raw_phone)
        if reason is not None:
            problems.append(Problem(line, PHONE_COLUMN, reason, raw_phone[:MAX_CELL_SHOWN]))
        if self._quick is not None:
            at, names, limit = self._quick
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
                and not any(map(str.isspace, texts))
            ):
                return phone, dict(zip(names, texts, strict=True)), problems
        values = {}
        for variable, at in self._slots:
            value = cells[at] if at >= 0 else ""
            message = check_value(variable, value)
            if message is not None:
                problems.append(Problem(line, variable.column, message, value[:MAX_CELL_SHOWN]))
            elif value:
                values[variable.column] = value
        return phone, values, problems
