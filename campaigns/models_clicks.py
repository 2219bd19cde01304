"""Clicks: a recipient opening a link of a campaign's message (docs/clicks.md).

Two sources: Broadcast's own redirect (`GET /r/<token>`, a URL button whose template URL is
this installation's `/r/{{1}}`), which always knows its recipient; and Meta's click events
on the Marketing Messages API (`user_actions` webhook items), which carry no phone and no
wamid, only Meta's click id and tracking token, and are attributed where the token matches.
Imported by `campaigns.models`, which Django loads.
"""

from django.db import models
from django.db.models import Q

from whatsapp.models import WhatsAppAccount


class Click(models.Model):
    class Source(models.TextChoices):
        REDIRECT = "redirect", "Broadcast's tracked link"
        META = "meta", "Meta's click event"

    id = models.BigAutoField(primary_key=True)
    account = models.ForeignKey(WhatsAppAccount, on_delete=models.CASCADE, related_name="+")
    # Null when the click could not be attributed (Meta's token matched nothing of ours).
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="clicks"
    )
    # Not a foreign key: the recipients table is the send path's; a click names its row.
    recipient_id = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    # Meta's `action_type` (an open set: marketing_messages_link_click, landing_page_view, …)
    # or "redirect" for Broadcast's link.
    action_type = models.CharField(max_length=64)
    click_id = models.CharField(max_length=128, blank=True)
    tracking_token = models.CharField(max_length=512, blank=True)
    click_component = models.CharField(max_length=32, blank=True)
    product_id = models.CharField(max_length=128, blank=True)
    # The URL button (0-based) of a redirect click.
    button_index = models.PositiveSmallIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Meta's item as it came (for a redirect: {}).
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            # Meta redelivers webhooks: one row per click id and action.
            models.UniqueConstraint(
                fields=["account", "action_type", "click_id"],
                condition=Q(source="meta") & ~Q(click_id=""),
                name="click_meta_unique",
            ),
            # The redirect records a recipient's click on a button once.
            models.UniqueConstraint(
                fields=["recipient_id", "button_index"],
                condition=Q(source="redirect"),
                name="click_redirect_once",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "occurred_at"], name="click_campaign_idx"),
            models.Index(fields=["account", "occurred_at"], name="click_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action_type} {self.click_id or self.recipient_id}"
