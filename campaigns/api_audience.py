"""REST API for sending to an audience: a campaign's audience preview, and a contact's
timeline across campaigns (docs/audiences.md §5, §7)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from accounts.selectors import get_scoped_or_404
from config.errors import Conflict
from config.pagination import StrictPageSize

from .audiences.mapping import AudienceError
from .audiences.resolve import audience_preview
from .audiences.timeline import contact_timeline, recipient_events
from .models import Contact, Recipient
from .serializers import ImportReportSerializer


class AudienceResolved(Conflict):
    code = "audience_resolved"


class AudienceActions:
    """Mixed into CampaignViewSet: GET /campaigns/{id}/audience/preview/."""

    @extend_schema(
        responses={
            200: ImportReportSerializer,
            400: OpenApiResponse(
                description="No audience, or one that cannot be resolved: the reason"
            ),
        }
    )
    @action(detail=True, methods=["get"], url_path="audience/preview", pagination_class=None)
    def audience_preview(self, request, pk=None):
        """What sending now would add from the audience, as an import report that is not
        stored: `rows_read` contacts, `imported` recipients, `rejected` contacts (and why, in
        `rejected_rows`), numbers skipped as opted out or already in the campaign, and the
        first messages rendered (`preview`)."""
        campaign = self.get_object()  # type: ignore[attr-defined]
        if not campaign.audience:
            raise AudienceError("The campaign has no audience.", field="audience")
        if campaign.audience_resolved_at is not None:
            raise AudienceResolved(
                "The audience was resolved into recipients already; its import report says "
                "what was added."
            )
        return Response(ImportReportSerializer(audience_preview(campaign=campaign)).data)


class TimelineEntrySerializer(serializers.ModelSerializer):
    """One message the contact was sent (or was to be sent), with its events newest first."""

    recipient_id = serializers.IntegerField(source="id")
    # Plain text in the schema: Recipient.Status's enum is named once, by the recipient list.
    status = serializers.CharField(read_only=True, help_text="The recipient's status.")
    campaign = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()

    class Meta:
        model = Recipient
        fields = [
            "recipient_id",
            "campaign",
            "status",
            "skip_reason",
            "sent_at",
            "delivered_at",
            "read_at",
            "replied_at",
            "clicked_at",
            "failed_at",
            "events",
        ]

    def get_campaign(self, obj) -> dict:
        return {"id": str(obj.campaign_id), "name": obj.campaign.name}

    def get_events(self, obj) -> list[dict]:
        return [
            {**e, "at": e["at"].isoformat().replace("+00:00", "Z")} for e in recipient_events(obj)
        ]


class TimelinePagination(StrictPageSize, CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ContactTimelineView(GenericAPIView):
    """GET /contacts/{id}/timeline/: the contact's messages across its workspace's campaigns,
    newest first, paged by cursor; matched by contact link or by phone number."""

    serializer_class = TimelineEntrySerializer
    pagination_class = TimelinePagination

    def get(self, request, contact_id: int):
        contact = get_scoped_or_404(Contact.objects.all(), user=request.user, pk=contact_id)
        page = self.paginate_queryset(contact_timeline(contact=contact))
        return self.get_paginated_response(TimelineEntrySerializer(page, many=True).data)
