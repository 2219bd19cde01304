"""Admin for WhatsApp connections. Saving goes through the service the API uses
(`account_save_by_staff`), which owns the write-only rule for secrets."""

from django import forms
from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from . import services
from .crypto import mask
from .forms import MARKETING_MESSAGES_HELP
from .models import AccountEvent, WhatsAppAccount


class WhatsAppAccountForm(forms.ModelForm):
    """Secrets are write-only: the form never renders a stored value. It does not write them
    to the instance either (the admin excludes them from the model fields): the admin hands
    them to the service, where a blank one keeps the stored value (so editing the throughput
    does not wipe the token)."""

    access_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to keep the stored token.",
    )
    app_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to keep the stored secret.",
    )
    verify_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to keep the stored verify token.",
    )

    class Meta:
        model = WhatsAppAccount
        fields = ["workspace", *services.EDITABLE_FIELDS, *services.STATE_FIELDS]
        help_texts = {"marketing_messages_api": MARKETING_MESSAGES_HELP}

    def clean(self):
        cleaned = super().clean()
        if self.instance._state.adding:
            for name in ("access_token", "app_secret"):
                if not cleaned.get(name):
                    self.add_error(name, "Required for a new connection.")
        return cleaned


@admin.register(WhatsAppAccount)
class WhatsAppAccountAdmin(admin.ModelAdmin):
    form = WhatsAppAccountForm
    list_display = [
        "name",
        "workspace",
        "display_phone_number",
        "phone_number_id",
        "waba_id",
        "throughput",
        "messaging_limit_tier",
        "state",
        "restriction",
        "masked_token",
    ]
    list_filter = ["state", "restriction", "throughput", "messaging_limit_tier"]
    search_fields = ["name", "waba_id", "phone_number_id", "display_phone_number"]
    raw_id_fields = ["workspace"]
    readonly_fields = [
        "masked_token",
        "masked_app_secret",
        *services.RECORDED_FIELDS,
        "event_log",
    ]

    # The secrets stay form fields but are not set on the instance by the model form: they go
    # to the service in save_model. The page lists the fields in this order (the excluded
    # secrets would otherwise come last).
    exclude = services.SECRET_FIELDS
    fields = [*WhatsAppAccountForm.Meta.fields, *readonly_fields]

    def save_model(self, request, obj, form, change):
        secrets = {name: form.cleaned_data.get(name, "") for name in services.SECRET_FIELDS}
        services.account_save_by_staff(account=obj, **secrets)

    @admin.display(description="Meta's events (latest 20)")
    def event_log(self, obj):
        """The account's event log: Meta's account_update and number events, newest first."""
        events = AccountEvent.objects.filter(account=obj).order_by("-at", "-id")[:20]
        if not events:
            return "None yet."
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308  (a constant)
            "{} · {} · {}",
            ((f"{e.at:%Y-%m-%d %H:%M} UTC", e.field, e.summary) for e in events),
        )

    @admin.display(description="Access token")
    def masked_token(self, obj):
        return mask(obj.access_token)

    @admin.display(description="App secret")
    def masked_app_secret(self, obj):
        return mask(obj.app_secret)
