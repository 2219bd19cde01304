"""The dashboard's forms for campaigns: what a page accepts, checked before a service is
called (the services check again: the API calls them too)."""

from django import forms
from django.utils import timezone

from accounts.models import Workspace
from whatsapp.models import WhatsAppAccount
from whatsapp.variables import Variable, variables_for

from .audiences.mapping import AUDIENCE_KEYS, FIELDS, Source
from .engine.breaker import BreakerSettings
from .forms_numbers import RATE_HELP, number_option, numbers_field, poolable
from .models import Campaign, ContactList, Recipient, Segment

MARKETING_ONLY_HELP = (
    "Used only when the account has the Marketing Messages API on and the template is "
    "MARKETING; every other send goes through /messages."
)


def local_time_field(**kwargs) -> forms.DateTimeField:
    """An optional date and time from the browser's picker, read in the user's time zone
    (config/middleware.py activates the browser's)."""
    return forms.DateTimeField(
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
        ),
        error_messages={"invalid": "Give the date and time as YYYY-MM-DD HH:MM."},
        **kwargs,
    )


def posted_audience(data, *, prefix: str = "") -> dict:
    """The audience as posted: the ids chosen under each key, keys with none left out."""
    audience = {key: data.getlist(f"{prefix}{key}") for key in AUDIENCE_KEYS}
    return {key: ids for key, ids in audience.items() if ids}


def posted_sources(data, variables: list[Variable], *, prefix: str = "") -> dict[str, Source]:
    """Each column's source kind and argument as posted, unchecked (a field's argument is its
    select; a blank kind: not mapped). A column the template does not have is kept, so the
    service names it rather than the page dropping it without a word."""
    marker = f"{prefix}kind_"
    posted = [key[len(marker) :] for key in data if key.startswith(marker)]
    sources = {}
    for column in dict.fromkeys([*(v.column for v in variables), *posted]):
        kind = data.get(f"{marker}{column}", "")
        if kind:
            arg = data.get(f"{prefix}{'field' if kind == 'field' else 'arg'}_{column}", "")
            sources[column] = Source(kind, arg)
    return sources


def posted_mapping(data, variables: list[Variable], *, prefix: str = "") -> dict:
    """The mapping for campaign_update / campaign_create; a blank argument: not mapped."""
    sources = posted_sources(data, variables, prefix=prefix)
    return {column: str(s) for column, s in sources.items() if s.arg != ""}


def default_sources(variables: list[Variable]) -> dict[str, Source]:
    """A text column named like a contact field (a named template's {{name}}) starts mapped
    to that field; every other column starts unmapped."""
    return {
        v.column: Source("field", v.name or v.column)
        for v in variables
        if v.kind == "text" and (v.name or v.column) in FIELDS
    }


def mapping_rows(variables: list[Variable], sources: dict[str, Source]) -> list[dict]:
    """The rows of the mapping table (campaigns/_audience_mapping.html)."""
    return [{"variable": v, "source": sources.get(v.column)} for v in variables]


class NewCampaignForm(forms.Form):
    """Name, template and settings of a new draft; its recipients either a file uploaded on
    the next page or an audience chosen here: lists and segments of the template's workspace
    and the mapping of that template's columns. Every template's mapping table is on the page
    (the chosen one shown), its inputs prefixed with the template's id; only the chosen
    template's are read."""

    UPLOAD, AUDIENCE = "upload", "audience"

    name = forms.CharField(max_length=200)
    template = forms.ChoiceField()
    marketing_policy = forms.ChoiceField(
        choices=Campaign.MarketingPolicy.choices,
        initial=Campaign.MarketingPolicy.CLOUD_API_FALLBACK,
        label="Marketing Messages API policy",
        help_text="Fall back: Meta delivers through the Cloud API when the Marketing Messages "
        "API cannot. Only the MM API: the message fails instead. " + MARKETING_ONLY_HELP,
    )
    message_activity_sharing = forms.BooleanField(
        required=False,
        initial=True,
        label="Share message activity with Meta",
        help_text="Meta's message_activity_sharing. " + MARKETING_ONLY_HELP,
    )

    offer_expires_at = local_time_field(
        label="Offer ends",
        help_text="For templates with a limited-time offer: when the offer ends for every "
        "recipient whose row gives no offer_expiration_time. Rows whose offer has ended by "
        "their send time are skipped, never sent.",
    )

    # The workspace's other numbers on the template's WABA (forms_numbers.py); the page's
    # script shows only the chosen template's.
    numbers = numbers_field()

    recipients = forms.ChoiceField(
        required=False,  # a form posted without it (the API-era pages, tests): a file
        choices=[(UPLOAD, "Upload a file"), (AUDIENCE, "Choose an audience")],
        initial=UPLOAD,
        widget=forms.RadioSelect,
        label="Recipients",
    )

    def clean_offer_expires_at(self):
        ends = self.cleaned_data["offer_expires_at"]
        if ends is not None and ends <= timezone.now():
            raise forms.ValidationError("That time has passed: the offer would already be over.")
        return ends

    def __init__(self, *args, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.templates = {str(t.pk): t for t in templates}
        self.fields["template"].choices = [
            (pk, f"{t.name} ({t.language}) · {t.category.lower()} · {t.account.name}")
            for pk, t in self.templates.items()
        ]
        accounts = WhatsAppAccount.objects.filter(
            workspace_id__in={t.workspace_id for t in self.templates.values()}
        )
        self.pool_accounts = poolable(accounts, owners=[t.account for t in self.templates.values()])
        self.fields["numbers"].choices = [(str(a.pk), str(a)) for a in self.pool_accounts]

    @staticmethod
    def audience_prefix(workspace_id) -> str:
        return f"w{workspace_id}-"

    @staticmethod
    def mapping_prefix(template_pk) -> str:
        return f"t{template_pk}-"

    def clean_recipients(self):
        return self.cleaned_data["recipients"] or self.UPLOAD

    def clean(self):
        data = super().clean()
        template = self.templates.get(data.get("template") or "")
        if data.get("recipients") == self.AUDIENCE and template is not None:
            audience = posted_audience(
                self.data, prefix=self.audience_prefix(template.workspace_id)
            )
            if not (audience.get("lists") or audience.get("segments")):
                self.add_error("recipients", "Choose at least one list or segment to send to.")
        return data

    @property
    def chooses_audience(self) -> bool:
        return self.cleaned_data.get("recipients") == self.AUDIENCE

    def create_kwargs(self) -> dict:
        """campaign_create's arguments (a valid form); the audience and the mapping are the
        chosen template's, checked by the service."""
        data = self.cleaned_data
        template = self.templates[data["template"]]
        kwargs = {
            "name": data["name"],
            "template": template,
            "marketing_policy": data["marketing_policy"],
            "message_activity_sharing": data["message_activity_sharing"],
            "offer_expires_at": data["offer_expires_at"],
            "numbers": data["numbers"],
        }
        if self.chooses_audience:
            kwargs["audience"] = posted_audience(
                self.data, prefix=self.audience_prefix(template.workspace_id)
            )
            kwargs["mapping"] = posted_mapping(
                self.data, variables_for(template), prefix=self.mapping_prefix(template.pk)
            )
        return kwargs

    # The service's `field` → the form's field its refusal is shown beside.
    SERVICE_FIELDS = {
        "name": "name",
        "template_id": "template",
        "account": "template",
        "marketing_policy": "marketing_policy",
        "offer_expires_at": "offer_expires_at",
        "numbers": "numbers",
    }

    def add_service_error(self, exc) -> None:
        """A refusal of campaign_create, beside the input at fault (the form keeps what was
        typed); an audience's or mapping's under Recipients."""
        field = exc.field or ""
        if field.startswith(("audience", "mapping")):
            self.add_error("recipients", exc.message)
        else:
            self.add_error(self.SERVICE_FIELDS.get(field), exc.message)

    def number_options(self) -> list[dict]:
        """The "Also send from" checkboxes: every number that can be pooled with one of the
        templates' (the template's own is hidden by the page's script when it is chosen)."""
        chosen = self.data.getlist("numbers") if self.is_bound else []
        return [number_option(a, chosen=chosen) for a in self.pool_accounts]

    def audience_blocks(self) -> list[dict]:
        """One "send to" block per workspace of the templates offered (usually one): its
        lists and segments, and what was chosen in it."""
        ids = list(dict.fromkeys(t.workspace_id for t in self.templates.values()))
        names = dict(Workspace.objects.filter(pk__in=ids).values_list("pk", "name"))
        blocks = {
            ws: {"workspace": ws, "name": names.get(ws, ""), "lists": [], "segments": []}
            for ws in ids
        }
        for model, key in ((ContactList, "lists"), (Segment, "segments")):
            for item in model.objects.filter(workspace_id__in=ids).only("pk", "name", "workspace"):
                blocks[item.workspace_id][key].append(item)
        for block in blocks.values():
            block["prefix"] = prefix = self.audience_prefix(block["workspace"])
            block["chosen"] = {k: set(self.data.getlist(f"{prefix}{k}")) for k in AUDIENCE_KEYS}
        return list(blocks.values())

    def mapping_blocks(self) -> list[dict]:
        """One mapping table per template: what was posted for it (kept on an error), or
        the defaults."""
        blocks = []
        for pk, template in self.templates.items():
            variables, prefix = variables_for(template), self.mapping_prefix(pk)
            posted = self.is_bound and any(key.startswith(prefix) for key in self.data)
            sources = (
                posted_sources(self.data, variables, prefix=prefix)
                if posted
                else default_sources(variables)
            )
            blocks.append(
                {
                    "template": pk,
                    "workspace": str(template.workspace_id),
                    "name": f"{template.name} ({template.language})",
                    "prefix": prefix,
                    "rows": mapping_rows(variables, sources),
                }
            )
        return blocks


def _range_field(bounds: tuple[int, int], message: str, **kwargs) -> forms.IntegerField:
    """An optional whole number within `bounds` (the Campaign model's), one message for any
    value outside it or not a number."""
    low, high = bounds
    text = message.format(low=low, high=high)
    return forms.IntegerField(
        required=False,
        min_value=low,
        max_value=high,
        error_messages={"min_value": text, "max_value": text, "invalid": text},
        **kwargs,
    )


class SendForm(forms.Form):
    """The detail page's "Send now" and "Schedule": a blank value keeps the campaign's
    setting. `send_at` is read in the user's time zone (config/middleware.py activates the
    browser's), so 09:00 means 09:00 where the operator is."""

    rate_limit = _range_field(
        Campaign.RATE_LIMIT_RANGE,
        "The rate must be between {low} and {high} messages a second.",
        help_text=RATE_HELP,
    )
    worker_count = _range_field(
        Campaign.WORKER_COUNT_RANGE, "Concurrency must be between {low} and {high}."
    )
    send_at = local_time_field()

    def clean_send_at(self):
        send_at = self.cleaned_data["send_at"]
        if send_at is not None and send_at <= timezone.now():
            raise forms.ValidationError("That time has passed. Pick a time ahead, or use Send now.")
        return send_at


class BreakerForm(forms.Form):
    """The breaker's thresholds on the campaign page; shares are entered as percentages. A
    blank field goes back to the workspace's default."""

    LIMITS = BreakerSettings.LIMITS  # the ranges BreakerSettings.clean enforces
    consecutive = forms.IntegerField(
        required=False, min_value=LIMITS["consecutive"][0], max_value=LIMITS["consecutive"][1]
    )
    share_percent = forms.FloatField(
        required=False, min_value=LIMITS["share"][0] * 100, max_value=LIMITS["share"][1] * 100
    )
    window = forms.IntegerField(
        required=False, min_value=LIMITS["window"][0], max_value=LIMITS["window"][1]
    )
    optout_percent = forms.FloatField(
        required=False,
        min_value=LIMITS["optout_share"][0] * 100,
        max_value=LIMITS["optout_share"][1] * 100,
    )

    def overrides(self) -> dict:
        data = self.cleaned_data
        share, optout = data["share_percent"], data["optout_percent"]
        return {
            "consecutive": data["consecutive"],
            "window": data["window"],
            "share": None if share is None else share / 100,
            "optout_share": None if optout is None else optout / 100,
        }

    @classmethod
    def for_campaign(cls, campaign: Campaign, effective: BreakerSettings) -> "BreakerForm":
        """The campaign's own overrides filled in; the values in force as placeholders."""
        own = campaign.breaker
        form = cls(
            initial={
                "consecutive": own.get("consecutive"),
                "window": own.get("window"),
                "share_percent": own["share"] * 100 if own.get("share") else None,
                "optout_percent": own["optout_share"] * 100 if own.get("optout_share") else None,
            }
        )
        optout = effective.optout_share
        shown = {
            "consecutive": effective.consecutive,
            "window": effective.window,
            "share_percent": f"{effective.share * 100:g}",
            "optout_percent": "off" if optout is None else f"{optout * 100:g}",
        }
        for name, value in shown.items():
            form.fields[name].widget.attrs["placeholder"] = str(value)
        return form


class RecipientFilterForm(forms.Form):
    """The recipients table's filters; a bad value is shown, never a 500."""

    status = forms.ChoiceField(
        required=False, choices=[("", "Every state"), *Recipient.Status.choices]
    )
    phone = forms.CharField(required=False, max_length=40)
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)


EXPORT_SEGMENTS = {
    "all": ("Every recipient", []),
    "failed": ("Failed", ["failed"]),
    "unknown": ("Unknown outcome", ["unknown"]),
    "not_read": ("Sent or delivered, not read", ["sent", "delivered"]),
    "read": ("Read", ["read"]),
    "skipped": ("Skipped", ["skipped"]),
    "pending": ("Not sent yet", ["pending"]),
}
