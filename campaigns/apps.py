from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from templates_app.signals import template_unsendable
        from whatsapp.health import account_blocked

        from .services.lifecycle import campaigns_follow_template, campaigns_pause_for_account

        template_unsendable.connect(campaigns_follow_template, dispatch_uid="campaigns")
        account_blocked.connect(campaigns_pause_for_account, dispatch_uid="campaigns")
