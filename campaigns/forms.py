"""The dashboard's forms for campaigns: what a page accepts, checked before a service is
called (the services check again: the API calls them too)."""

from django import forms
from django.utils import timezone

from .engine.breaker import BreakerSettings
from .models import Campaign, Recipient

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


class NewCampaignForm(forms.Form):
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


def _range_field(bounds: tuple[int, int], message: str) -> forms.IntegerField:
    """An optional whole number within `bounds` (the Campaign model's), one message for any
    value outside it or not a number."""
    low, high = bounds
    text = message.format(low=low, high=high)
    return forms.IntegerField(
        required=False,
        min_value=low,
        max_value=high,
        error_messages={"min_value": text, "max_value": text, "invalid": text},
    )


class SendForm(forms.Form):
    """The detail page's "Send now" and "Schedule": a blank value keeps the campaign's
    setting. `send_at` is read in the user's time zone (config/middleware.py activates the
    browser's), so 09:00 means 09:00 where the operator is."""

    rate_limit = _range_field(
        Campaign.RATE_LIMIT_RANGE, "The rate must be between {low} and {high} messages a second."
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
