from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from whatsapp.models import WhatsAppAccount

        from .services.directory import clear_directory

        # The receiver caches accounts' routing ids and secrets per process; a change made
        # in this process is seen at once (other processes reload on a miss or a mismatch).
        post_save.connect(clear_directory, sender=WhatsAppAccount, dispatch_uid="webhooks-dir")
        post_delete.connect(clear_directory, sender=WhatsAppAccount, dispatch_uid="webhooks-dir")

        from campaigns.audiences.contact_erase import contact_erased

        from .services.contact_erase import webhook_events_forget

        # An erased contact's number leaves the stored events too (docs/audiences.md §7).
        contact_erased.connect(webhook_events_forget, dispatch_uid="webhooks-contact-erase")
