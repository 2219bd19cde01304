"""The operator's writes to the opt-out list (the dashboard's /opt-outs/ page): add one
number, remove one, import a file of them. Any member of the workspace may (an opt-out
protects the recipient, so nobody needs to be an owner to record one).

They reuse the webhook's rules (campaigns/tracking/inbound.py): an added number is a MANUAL
opt-out, which no inbound START or `resume` lifts; removing one records the opt-in that
lifts it, so a late webhook repeating the old opt-out does not bring it back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from accounts.selectors import get_scoped_or_404, membership_role_for_user
from config.errors import Invalid, PermissionDenied

from ..importing.phones import MISSING_COUNTRY_CODE, normalize
from ..importing.readers import FileRejected, open_upload, shown
from ..models import OptOut
from ..tracking.inbound import LIFTER, optout_add, optout_lift

logger = logging.getLogger(__name__)

# An opt-out file is a list of numbers, not a campaign: this many rows at most per upload.
MAX_IMPORT_ROWS = 200_000
# Rejected lines listed in the report (all of them are counted).
INVALID_SHOWN = 200
CHUNK = 5000


class OptOutInvalid(Invalid):
    code = "invalid_phone"
    field: str | None = "phone"


def _require_member(*, user, workspace_id) -> None:
    if membership_role_for_user(user=user, workspace_id=workspace_id) is None:
        raise PermissionDenied("You are not a member of this workspace.")


def _reason(reason: str | None) -> str:
    if reason == MISSING_COUNTRY_CODE:
        return "country code missing: start the number with + and its country code"
    return reason or "not a phone number"


def optout_add_by_user(
    *, user, workspace: Workspace, phone: str, country_code: str = "", detail: str = ""
) -> tuple[str, bool]:
    """Put a number, typed in any format, on the workspace's list; returns `(e164, created)`
    (False: it was there already). An invalid number is refused with the reason."""
    _require_member(user=user, workspace_id=workspace.pk)
    e164, reason = normalize(country_code or None, phone)
    if e164 is None:
        raise OptOutInvalid(f"{shown(phone) or 'The number'}: {_reason(reason)}.")
    created = optout_add(
        workspace_id=workspace.pk,
        phone=e164,
        source=OptOut.Source.MANUAL,
        detail=(detail.strip() or f"Added by {user.get_username()}")[:500],
    )
    return e164, created


def optout_remove_by_user(*, user, optout_id: int) -> OptOut:
    """Take a number off the list (any source). 404 outside the user's workspaces."""
    opt_out = get_scoped_or_404(OptOut.objects.all(), user=user, id=optout_id)
    _require_member(user=user, workspace_id=opt_out.workspace_id)
    by = LIFTER.get(opt_out.source)
    if by is not None:
        # As if the person had opted back in the way they opted out, now: lifts this entry
        # and ignores an older copy of the opt-out arriving late.
        optout_lift(workspace_id=opt_out.workspace_id, phone=opt_out.phone, by=by)
    OptOut.objects.filter(pk=opt_out.pk).delete()
    logger.info(
        "opt-out removed by an operator",
        extra={
            "workspace_id": str(opt_out.workspace_id),
            "phone": opt_out.phone,
            "source": opt_out.source,
            "user_id": user.pk,
        },
    )
    return opt_out


@dataclass
class OptOutImport:
    rows: int = 0
    added: int = 0
    already: int = 0  # on the list before, or repeated in the file
    invalid: int = 0
    invalid_lines: list[dict] = field(default_factory=list)  # {line, value, reason}, the first

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "added": self.added,
            "already": self.already,
            "invalid": self.invalid,
            "invalid_lines": self.invalid_lines,
        }


def _phone_columns(columns: list[str]) -> tuple[int | None, int]:
    """(country_code index or None, phone index) from the header."""
    if "phone" in columns:
        return None, columns.index("phone")
    if "phone_number" in columns:
        cc = columns.index("country_code") if "country_code" in columns else None
        return cc, columns.index("phone_number")
    raise FileRejected(
        "The file needs a “phone” column, or “country_code” and “phone_number” columns "
        f"(its header: {shown(', '.join(c for c in columns if c))})."
    )


def optouts_import(*, user, workspace: Workspace, upload, filename: str = "") -> OptOutImport:
    """Add every number of a CSV or XLSX file (one a row) to the workspace's list, as MANUAL
    opt-outs. Counts what was added, what was there already, and every invalid line (with its
    number and reason). A file that cannot be read, or has no phone column, is refused whole.

    Stored in bulk: a MANUAL opt-out has no opt-in that could lift it (`optout_add` would
    check none), so inserting the new numbers directly is what `optout_add` would do, a
    thousand times faster."""
    _require_member(user=user, workspace_id=workspace.pk)
    source = open_upload(upload, filename)
    cc_index, phone_index = _phone_columns(source.columns)
    report = OptOutImport()
    numbers: dict[str, int] = {}
    for line, cells in source.lists():
        report.rows += 1
        if report.rows > MAX_IMPORT_ROWS:
            raise FileRejected(f"The file has more than {MAX_IMPORT_ROWS:,} rows: split it.")
        raw = cells[phone_index] if phone_index < len(cells) else ""
        cc = cells[cc_index] if cc_index is not None and cc_index < len(cells) else None
        e164, reason = normalize(cc or None, raw)
        if e164 is None:
            report.invalid += 1
            if len(report.invalid_lines) < INVALID_SHOWN:
                value = f"{cc} {raw}".strip() if cc else raw
                report.invalid_lines.append(
                    {"line": line, "value": shown(value), "reason": _reason(reason)}
                )
        elif e164 in numbers:
            report.already += 1
        else:
            numbers[e164] = line
    detail = f"Imported from {shown(filename or 'a file')} by {user.get_username()}"[:500]
    now = timezone.now()
    phones = list(numbers)
    with transaction.atomic():
        for start in range(0, len(phones), CHUNK):
            chunk = phones[start : start + CHUNK]
            existing = set(
                OptOut.objects.filter(workspace=workspace, phone__in=chunk).values_list(
                    "phone", flat=True
                )
            )
            new = [
                OptOut(
                    workspace=workspace,
                    phone=phone,
                    source=OptOut.Source.MANUAL,
                    detail=detail,
                    opted_out_at=now,
                )
                for phone in chunk
                if phone not in existing
            ]
            OptOut.objects.bulk_create(new, ignore_conflicts=True)
            report.added += len(new)
            report.already += len(existing)
    logger.info(
        "opt-outs imported",
        extra={"workspace_id": str(workspace.pk), "added": report.added, "rows": report.rows},
    )
    return report
