from django import forms
from django.contrib import admin

from .crypto import mask
from .models import WhatsAppAccount

SECRET_FIELDS = ("access_token", "app_secret", "verify_token")


class WhatsAppAccountForm(forms.ModelForm):
    """Secrets are write-only: the form never renders a stored value, and a blank field keeps
    the stored one (so editing the throughput does not wipe the token)."""

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
        fields = [
            "workspace",
            "name",
            "waba_id",
            "phone_number_id",
            "display_phone_number",
            "access_token",
            "app_secret",
            "verify_token",
            "throughput",
            "messaging_limit_tier",
            "state",
            "state_reason",
        ]

    def clean(self):
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if not cleaned.get(name):
                if self.instance.pk:
                    cleaned[name] = getattr(self.instance, name)
                elif name != "verify_token":
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
        "masked_token",
    ]
    list_filter = ["state", "throughput", "messaging_limit_tier"]
    search_fields = ["name", "waba_id", "phone_number_id", "display_phone_number"]
    raw_id_fields = ["workspace"]
    readonly_fields = [
        "masked_token",
        "masked_app_secret",
        "last_error_code",
        "last_error_details",
        "last_error_at",
        "templates_synced_at",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="Access token")
    def masked_token(self, obj):
        return mask(obj.access_token)

    @admin.display(description="App secret")
    def masked_app_secret(self, obj):
        return mask(obj.app_secret)
