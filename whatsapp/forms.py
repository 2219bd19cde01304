"""The dashboard's form for a WhatsApp connection (connect and edit). Secrets are
write-only: the inputs never show a stored value, and a blank one on edit keeps it."""

import secrets

from django import forms

from .crypto import mask
from .models import WhatsAppAccount
from .services import SECRET_FIELDS

SECRET_HELP = {
    "access_token": "A System User token with whatsapp_business_messaging and "
    "whatsapp_business_management.",
    "app_secret": "The app's secret (App settings → Basic): it signs Meta's webhooks.",
    "verify_token": "Any phrase you choose; you paste it into Meta's webhook settings. "
    "Blank: one is made up for you.",
}
# Shown by this form and the admin's.
MARKETING_MESSAGES_HELP = (
    "Send MARKETING templates through Meta's Marketing Messages API (/marketing_messages; "
    "its terms must be accepted in WhatsApp Manager); utility and authentication templates "
    "keep using /messages."
)


class AccountForm(forms.ModelForm):
    access_token = forms.CharField(
        max_length=1024, widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )
    app_secret = forms.CharField(
        max_length=256, widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )
    verify_token = forms.CharField(
        max_length=256,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    class Meta:
        model = WhatsAppAccount
        fields = [
            "name",
            "waba_id",
            "phone_number_id",
            "access_token",
            "app_secret",
            "verify_token",
            "throughput",
            "messaging_limit_tier",
            "marketing_messages_api",
        ]
        labels = {
            "waba_id": "WABA id",
            "messaging_limit_tier": "Messaging-limit tier",
            "marketing_messages_api": "Marketing Messages API",
        }
        help_texts = {
            "waba_id": "WhatsApp Manager → Account tools → Business account id.",
            "phone_number_id": "WhatsApp Manager → Phone numbers → the number's id (not the "
            "number itself).",
            "throughput": "Meta's level for this number; “Test connection” reads it.",
            "messaging_limit_tier": "Unique users per 24 h; “Test connection” reads it.",
            "marketing_messages_api": MARKETING_MESSAGES_HELP,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        editing = not self.instance._state.adding
        for name in SECRET_FIELDS:
            field = self.fields[name]
            field.help_text = SECRET_HELP[name]
            field.strip = True
            if editing:
                field.required = False
                stored = mask(getattr(self.instance, name))
                field.widget.attrs["placeholder"] = (
                    f"{stored} (blank keeps it)" if stored else "not set"
                )
        # The service checks uniqueness with the workspace it knows.
        self.fields["phone_number_id"].validators = []

    def validate_unique(self):
        pass

    def _post_clean(self):
        # The service assigns and validates the model (account_create / account_update).
        pass

    def values(self) -> dict:
        """The cleaned fields for the service; a new connection without a verify token gets
        a random one (the owner copies it from the number's page)."""
        data = dict(self.cleaned_data)
        if self.instance._state.adding and not data.get("verify_token"):
            data["verify_token"] = secrets.token_urlsafe(24)
        return data
