from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from templates_app.signals import template_unsendable

        from .services.lifecycle import campaigns_follow_template

        template_unsendable.connect(campaigns_follow_template, dispatch_uid="campaigns")
