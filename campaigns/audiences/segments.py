"""Segments (docs/audiences.md §4): rules compiled into one SQL WHERE over a workspace's
contacts — never a loop over them in Python — and the saved segments' writes.

`segment_contacts` and `list_contacts` are what a campaign's audience resolves through
(campaigns/audiences/resolve.py): lazy querysets, to count, page or use as a subquery.

Which index each condition can use on PostgreSQL (migration 0015 and campaigns/models.py):
tag `has`/`in` are `tags @> '["vip"]'` (contact_tags_gin, jsonb_path_ops); attribute `eq`,
`ne`, `in` are `attributes @> '{"city": "Pune"}'` and `exists` is `attributes ? 'city'`
(contact_attributes_gin, jsonb_ops); a list is a semi-join on contactlist_member_unique;
`opted_out` on optout_unique (workspace, phone); engagement a semi-join on the recipients by
phone, with `sent_at IS NOT NULL` so that recipient_phone_idx applies. Every compiled
condition is true or false, never NULL, so `not` is exactly the complement.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Exists, Expression, F, OuterRef, Q, QuerySet, Value
from django.db.models.fields.json import HasKey
from django.utils import timezone

from config.errors import Invalid

from ..models import Campaign, Contact, ContactList, ContactListMember, OptOut, Recipient, Segment
from .rules import NUMBER_OPS, RuleError, rule_references, validate_rules

# The recipient timestamp each engagement state is read from ("within N days" compares it).
ENGAGEMENT_TIMESTAMPS = {
    "sent": "sent_at",
    "delivered": "delivered_at",
    "read": "read_at",
    "replied": "replied_at",
    "clicked": "clicked_at",
    "failed": "failed_at",
}
COLUMN_DATES = ("created_at", "last_messaged_at", "last_replied_at")
NUMBER_SQL = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
PREVIEW_CONTACTS = 20


class Sql(Expression):
    """A boolean SQL snippet over expressions: `{0}`, `{1}`… stand for the compiled arguments
    (a column, a parameter), each as often as the snippet needs it."""

    conditional = True

    def __init__(self, template: str, *args):
        super().__init__(output_field=BooleanField())
        self.template = template
        self.args = [a if hasattr(a, "resolve_expression") else Value(a) for a in args]

    def get_source_expressions(self):
        return self.args

    def set_source_expressions(self, exprs):
        self.args = list(exprs)

    def as_sql(self, compiler, connection):
        compiled = [compiler.compile(arg) for arg in self.args]
        params: list = []

        def place(match):
            sql, arg_params = compiled[int(match.group(1))]
            params.extend(arg_params)
            return sql

        return re.sub(r"\{(\d)\}", place, self.template), params


# --- the queries -----------------------------------------------------------------------------


def has_tag(tag: str) -> Q:
    """Contacts with `tag` (as stored: lower case)."""
    if connection.vendor == "postgresql":
        return Q(tags__contains=[tag])  # tags @> '["vip"]': contact_tags_gin
    # SQLite (make run) has no JSON containment: an EXISTS over the array's elements.
    return Q(
        Sql("EXISTS (SELECT 1 FROM json_each({0}) WHERE json_each.value = {1})", F("tags"), tag)
    )


def segment_condition(*, workspace_id, rules) -> Q:
    """The condition on a workspace's contact that the rules match (RuleError if they are
    malformed), to combine in one contacts query (an audience's)."""
    normal = validate_rules(rules)
    return _Compiler(workspace_id=workspace_id).node(normal)


def segment_contacts(*, workspace_id, rules) -> QuerySet[Contact]:
    """The workspace's contacts the rules match (RuleError if they are malformed)."""
    condition = segment_condition(workspace_id=workspace_id, rules=rules)
    return Contact.objects.filter(workspace_id=workspace_id).filter(condition)


def list_condition(*, workspace_id, list_ids) -> Q:
    """The condition on a contact: a member of any of the lists (ids of another workspace's
    lists match nothing; a malformed id is a ValueError)."""
    members = ContactListMember.objects.filter(
        contact_id=OuterRef("pk"),
        contact_list_id__in=[_as_uuid(i) for i in list_ids],
        contact_list__workspace_id=workspace_id,
    )
    return Q(Exists(members))


def list_contacts(*, workspace_id, list_ids) -> QuerySet[Contact]:
    """The workspace's contacts that are members of any of the lists."""
    condition = list_condition(workspace_id=workspace_id, list_ids=list_ids)
    return Contact.objects.filter(workspace_id=workspace_id).filter(condition)


def rules_check_references(*, workspace_id, rules: dict) -> None:
    """RuleError naming the first list or campaign id (normalised rules) that is not the
    workspace's: a client learns nothing about other workspaces' ids."""
    refs = rule_references(rules)
    models: dict[str, type[ContactList] | type[Campaign]] = {
        "list": ContactList,
        "campaign": Campaign,
    }
    for kind, named in refs.items():
        if not named:
            continue
        ids = {value for value, _ in named}
        known = {
            str(pk)
            for pk in models[kind]
            ._default_manager.filter(workspace_id=workspace_id, id__in=ids)
            .values_list("id", flat=True)
        }
        for value, path in named:
            if value not in known:
                raise RuleError(path, f"no {kind} {value} in this workspace")


def segment_preview(
    *, workspace_id, rules, limit: int = PREVIEW_CONTACTS, check_references: bool = True
) -> dict:
    """The count and the newest `limit` contacts the rules match (their list and campaign ids
    checked first, unless a saved segment's: one deleted since matches nothing)."""
    normal = validate_rules(rules)
    if check_references:
        rules_check_references(workspace_id=workspace_id, rules=normal)
    contacts = segment_contacts(workspace_id=workspace_id, rules=normal)
    return {"rules": normal, "count": contacts.count(), "contacts": list(contacts[:limit])}


# --- the saved segments ----------------------------------------------------------------------


def segment_create(*, workspace, name: str, rules) -> Segment:
    normal = validate_rules(rules)
    rules_check_references(workspace_id=workspace.pk, rules=normal)
    segment = Segment(workspace=workspace, name=name.strip(), rules=normal)
    _save_unique(segment)
    return segment


def segment_update(*, segment: Segment, name: str | None = None, rules=None) -> Segment:
    if name is not None:
        segment.name = name.strip()
    if rules is not None:
        segment.rules = validate_rules(rules)
        rules_check_references(workspace_id=segment.workspace_id, rules=segment.rules)
    _save_unique(segment)
    return segment


def segment_delete(*, segment: Segment) -> None:
    segment.delete()


def _save_unique(segment: Segment) -> None:
    if not segment.name:
        raise Invalid("A segment needs a name.", field="name")
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError:
        raise Invalid(f"A segment named {segment.name!r} exists already.", field="name") from None


# --- the compiler ----------------------------------------------------------------------------


class _Compiler:
    """Normalised rules → a Q over Contact."""

    def __init__(self, *, workspace_id):
        self.workspace_id = workspace_id
        self.now = timezone.now()
        self.postgres = connection.vendor == "postgresql"

    def node(self, node: dict, *, alternative: bool = False) -> Q:
        """`alternative`: the node is one of an `any`'s. There a list or an engagement is an
        uncorrelated `IN (subquery)`, which PostgreSQL hashes once ("hashed SubPlan"); a
        correlated EXISTS under OR would run once per contact. Elsewhere EXISTS lets the
        planner make a semi- or anti-join."""
        if "all" in node:
            combined = Q()
            for child in node["all"]:
                combined &= self.node(child)
            return combined
        if "any" in node:
            if not node["any"]:
                return Q(pk__in=[])  # no alternative: nothing matches
            combined = self.node(node["any"][0], alternative=True)
            for child in node["any"][1:]:
                combined |= self.node(child, alternative=True)
            return combined
        if "not" in node:
            return ~self.node(node["not"])
        if "list" in node:
            members = ContactListMember.objects.filter(
                contact_list_id=node["list"], contact_list__workspace_id=self.workspace_id
            )
            if alternative:
                return Q(pk__in=members.values("contact_id"))
            return Q(Exists(members.filter(contact_id=OuterRef("pk"))))
        if "engagement" in node:
            return self.engagement(node, alternative=alternative)
        return self.field(node["field"], node["op"], node["value"])

    def engagement(self, node: dict, *, alternative: bool = False) -> Q:
        state = node["engagement"]
        stamp = ENGAGEMENT_TIMESTAMPS[state]
        recipients = Recipient.objects.filter(campaign__workspace_id=self.workspace_id)
        if state == "failed":
            # A send the API refused is failed without ever being sent: not sent_at, so the
            # phone index does not apply; the workspace's campaigns narrow it instead.
            recipients = recipients.filter(status=Recipient.Status.FAILED)
        else:
            # Every other state implies the send: sent_at IS NOT NULL lets the partial
            # recipient_phone_idx (phone) WHERE sent_at IS NOT NULL serve the lookup.
            recipients = recipients.filter(sent_at__isnull=False)
            if stamp != "sent_at":
                recipients = recipients.filter(**{f"{stamp}__isnull": False})
        if node.get("campaign"):
            recipients = recipients.filter(campaign_id=node["campaign"])
        if node.get("within_days"):
            since = self.now - timedelta(days=node["within_days"])
            recipients = recipients.filter(**{f"{stamp}__gte": since})
        if alternative:
            return Q(phone__in=recipients.values("phone"))
        return Q(Exists(recipients.filter(phone=OuterRef("phone"))))

    def field(self, field: str, op: str, value) -> Q:
        if field.startswith("attribute."):
            return self.attribute(field.removeprefix("attribute."), op, value)
        if field == "tag":
            return self.tag(op, value)
        if field == "opted_out":
            listed = OptOut.objects.filter(workspace_id=self.workspace_id, phone=OuterRef("phone"))
            opted = Q(Exists(listed))  # optout_unique (workspace, phone)
            return opted if value else ~opted
        if field in COLUMN_DATES:
            if op == "exists":
                return Q(**{f"{field}__isnull": not value})
            moment = self.moment(value, op)
            return Q(**{f"{field}__lt" if op == "before" else f"{field}__gte": moment})
        return _column_text(field, op, value)

    def moment(self, value, op: str) -> datetime:
        """before X: earlier than X; after X: from X on, where a date X means its whole day
        (UTC): after 2026-05-01 is from 2026-05-02T00:00Z."""
        if isinstance(value, dict):
            return self.now - timedelta(days=value["days_ago"])
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if op == "after" else 0)
            return datetime.combine(day, time(), tzinfo=UTC)
        return datetime.fromisoformat(value).astimezone(UTC)

    def tag(self, op: str, value) -> Q:
        if op == "exists":
            empty = Q(tags=[])
            return ~empty if value else empty
        tags = [value] if op == "has" else value
        combined = self.has_tag(tags[0])
        for tag in tags[1:]:
            combined |= self.has_tag(tag)
        return combined

    def has_tag(self, tag: str) -> Q:
        return has_tag(tag)

    def attribute(self, key: str, op: str, value) -> Q:
        if op == "exists":
            present = Q(HasKey(F("attributes"), key))  # attributes ? 'key'
            return present if value else ~present
        if op in ("eq", "ne", "in"):
            values = value if op == "in" else [value]
            combined = self.attribute_eq(key, values[0])
            for item in values[1:]:
                combined |= self.attribute_eq(key, item)
            return ~combined if op == "ne" else combined
        if op == "contains":
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", value) + "%"
            if self.postgres:
                return Q(
                    Sql(
                        "COALESCE(({0} ->> {1}::text) ILIKE {2}, false)",
                        F("attributes"),
                        key,
                        pattern,
                    )
                )
            return Q(
                Sql(
                    "COALESCE(CAST(json_extract({0}, {1}) AS TEXT) LIKE {2} ESCAPE '\\', 0)",
                    F("attributes"),
                    _sqlite_path(key),
                    pattern,
                )
            )
        if op in NUMBER_OPS:
            return Q(self.attribute_number(key, NUMBER_SQL[op], value))
        return Q(self.attribute_date(key, "<" if op == "before" else ">", value))

    def attribute_eq(self, key: str, value) -> Q:
        """The JSON value itself, or (a number) its text as a spreadsheet would give it."""
        forms = [value]
        if isinstance(value, bool):
            forms.append("true" if value else "false")
        elif isinstance(value, int | float):
            forms.append(str(value))
        if self.postgres:
            combined = Q(attributes__contains={key: forms[0]})  # contact_attributes_gin
            for form in forms[1:]:
                combined |= Q(attributes__contains={key: form})
            return combined
        sql = "COALESCE(json_extract({0}, {1}) = {2} AND json_type({0}, {1}) {3}, 0)"
        combined = Q()
        for n, form in enumerate(forms):
            kind = "IN ('true', 'false')" if isinstance(form, bool) else "NOT IN ('true', 'false')"
            one = Q(Sql(sql.replace("{3}", kind), F("attributes"), _sqlite_path(key), form))
            combined = one if n == 0 else combined | one
        return combined

    def attribute_number(self, key: str, operator: str, value) -> Sql:
        """A number, or a text that is one; anything else is simply not matched (the cast is
        guarded, so no value can make the query fail)."""
        number = Decimal(str(value))
        if self.postgres:
            return Sql(
                "COALESCE((CASE WHEN jsonb_typeof({0} -> {1}::text) = 'number' "
                "THEN ({0} ->> {1}::text)::numeric "
                "WHEN jsonb_typeof({0} -> {1}::text) = 'string' "
                r"AND ({0} ->> {1}::text) ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)\s*$' "
                "THEN btrim({0} ->> {1}::text)::numeric END) "
                f"{operator} CAST({{2}} AS numeric), false)",
                F("attributes"),
                key,
                Value(number),
            )
        return Sql(
            "COALESCE((CASE WHEN json_type({0}, {1}) IN ('integer', 'real') "
            "THEN json_extract({0}, {1}) "
            "WHEN json_type({0}, {1}) = 'text' AND trim(json_extract({0}, {1})) <> '' "
            "AND trim(json_extract({0}, {1})) NOT GLOB '*[^0-9.+-]*' "
            f"THEN CAST(trim(json_extract({{0}}, {{1}})) AS REAL) END) {operator} {{2}}, 0)",
            F("attributes"),
            _sqlite_path(key),
            float(number),
        )

    def attribute_date(self, key: str, operator: str, value) -> Sql:
        """ISO dates compare as text on their first ten characters (YYYY-MM-DD): a value that
        is not one is not matched, and nothing is cast."""
        if isinstance(value, dict):
            value = (self.now - timedelta(days=value["days_ago"])).date().isoformat()
        if self.postgres:
            return Sql(
                "COALESCE(jsonb_typeof({0} -> {1}::text) = 'string' AND ({0} ->> {1}::text) ~ "
                "'^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' "
                f"AND left({{0}} ->> {{1}}::text, 10) {operator} {{2}}, false)",
                F("attributes"),
                key,
                value,
            )
        return Sql(
            "COALESCE(json_type({0}, {1}) = 'text' AND json_extract({0}, {1}) GLOB "
            "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' "
            f"AND substr(json_extract({{0}}, {{1}}), 1, 10) {operator} {{2}}, 0)",
            F("attributes"),
            _sqlite_path(key),
            value,
        )


def _column_text(field: str, op: str, value) -> Q:
    if op == "exists":
        empty = Q(**{field: ""})
        return ~empty if value else empty
    if op == "eq":
        return Q(**{field: value})
    if op == "ne":
        return ~Q(**{field: value})
    if op == "in":
        return Q(**{f"{field}__in": value})
    return Q(**{f"{field}__icontains": value})


def _sqlite_path(key: str) -> str:
    return '$."' + key + '"'  # keys are letters, digits, spaces, _ . - (rules.ATTRIBUTE_KEY)


def _as_uuid(value):
    import uuid

    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
