"""Validation of one recipient row against the campaign's template."""

from dataclasses import dataclass, field

from templates_app.variables import Variable
from whatsapp.payload import check_value

from .phones import normalize
from .readers import FileRejected

PHONE_COLUMN = "phone_number"
COUNTRY_COLUMN = "country_code"
MAX_CELL_SHOWN = 200


@dataclass(slots=True)
class Problem:
    line: int
    column: str
    reason: str
    value: str = ""
    kind: str = "rejected"

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
            f"Column {c!r} is not used by this template and was ignored."
            for c in columns
            if c and c not in known
        ]
        return cls(variables=variables, warnings=warnings)

    def check(self, line: int, cells: dict[str, str]) -> tuple[str | None, dict, list[Problem]]:
        """(E.164 phone, values to store, problems); the row is valid when problems is []."""
        problems: list[Problem] = []
        raw_phone = cells.get(PHONE_COLUMN, "")
        phone, reason = normalize(cells.get(COUNTRY_COLUMN, ""), raw_phone)
        if reason is not None:
            problems.append(Problem(line, PHONE_COLUMN, reason, raw_phone[:MAX_CELL_SHOWN]))
        values = {}
        for variable in self.variables:
            value = cells.get(variable.column, "")
            message = check_value(variable, value)
            if message is not None:
                problems.append(Problem(line, variable.column, message, value[:MAX_CELL_SHOWN]))
            elif value:
                values[variable.column] = value
        return phone, values, problems
