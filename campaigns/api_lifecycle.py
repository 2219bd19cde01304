"""The campaign controls of the API: send, pause, resume, stop, status, rerun, retry-failed,
preflight, and send-bulk. Each validates its body and calls one service; what a service
refuses reaches the client through config/api_exceptions.py."""

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttles import SendThrottle

from . import api_docs as docs
from .api_common import template_or_400
from .preflight import campaign_preflight
from .serializers import (
    CampaignCreateSerializer,
    CampaignSerializer,
    ImportReportSerializer,
    rate_limit_field,
    worker_count_field,
)
from .services.bulk import campaign_send_bulk
from .services.reruns import SEGMENTS, campaign_rerun, campaign_retry_failed
from .services.sending import (
    campaign_pause,
    campaign_resume,
    campaign_send,
    campaign_status_set,
    campaign_stop,
)


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a time zone: a naive time would silently mean the server's zone."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # well formed, but no such time: 12:99, February 30th
                raise serializers.ValidationError(
                    "is not a real date and time (e.g. 2026-12-01T09:00:00+01:00)."
                ) from None
            if parsed is not None and timezone.is_naive(parsed):
                raise serializers.ValidationError(
                    "needs a time zone, e.g. 2026-12-01T09:00:00+01:00 or …Z."
                )
        return super().to_internal_value(value)


class SendSerializer(serializers.Serializer):
    worker_count = worker_count_field(required=False)
    rate_limit = rate_limit_field(required=False)
    send_at = AwareDateTimeField(
        required=False, allow_null=True, help_text="ISO 8601 with a time zone"
    )


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["paused", "active", "stopped"])


class RerunSerializer(serializers.Serializer):
    segment = serializers.ChoiceField(choices=list(SEGMENTS), default="all")
    name = serializers.CharField(max_length=200, required=False)


CONTROL_RESPONSES = {200: CampaignSerializer, 409: docs.CANNOT_TRANSITION}


class LifecycleActions:
    """Mixed into CampaignViewSet (which provides get_object)."""

    def _control(self, request, service, **kwargs):
        campaign = service(user=request.user, campaign=self.get_object(), **kwargs)
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(
        request=SendSerializer,
        responses={200: CampaignSerializer, 409: docs.CANNOT_TRANSITION},
        examples=docs.SEND_EXAMPLES,
    )
    @action(detail=True, methods=["post"], throttle_classes=[SendThrottle])
    def send(self, request, pk=None):
        """Start now, or schedule with `send_at`."""
        body = SendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._control(request, campaign_send, **body.validated_data)

    @extend_schema(request=None, responses=CONTROL_RESPONSES, examples=docs.CAMPAIGN_EXAMPLES)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._control(request, campaign_pause)

    @extend_schema(request=None, responses=CONTROL_RESPONSES, examples=docs.CAMPAIGN_EXAMPLES)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._control(request, campaign_resume)

    @extend_schema(request=None, responses=CONTROL_RESPONSES, examples=docs.CAMPAIGN_EXAMPLES)
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        return self._control(request, campaign_stop)

    @extend_schema(
        request=StatusSerializer,
        responses=CONTROL_RESPONSES,
        examples=[*docs.STATUS_EXAMPLES, *docs.CAMPAIGN_EXAMPLES],
    )
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        """The original API's control: `{status: paused|active|stopped}`."""
        body = StatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._control(request, campaign_status_set, status=body.validated_data["status"])

    @extend_schema(
        request=RerunSerializer,
        responses={201: CampaignSerializer, 409: docs.CANNOT_TRANSITION},
        examples=docs.RERUN_EXAMPLES,
    )
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        """A new draft campaign with this campaign's recipients of `segment`."""
        body = RerunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rerun = campaign_rerun(user=request.user, campaign=self.get_object(), **body.validated_data)
        return Response(CampaignSerializer(rerun).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "RetryResult",
                {"requeued": serializers.IntegerField(), "campaign": CampaignSerializer()},
            ),
            409: docs.CANNOT_TRANSITION,
        },
        examples=docs.RETRY_EXAMPLES,
    )
    @action(detail=True, methods=["post"], url_path="retry-failed")
    def retry_failed(self, request, pk=None):
        """Re-queue the failed recipients whose error can succeed on retry."""
        campaign = self.get_object()
        count = campaign_retry_failed(user=request.user, campaign=campaign)
        campaign.refresh_from_db()
        return Response({"requeued": count, "campaign": CampaignSerializer(campaign).data})

    @extend_schema(responses=docs.PreflightSerializer, examples=docs.PREFLIGHT_EXAMPLES)
    @action(detail=True, methods=["get"])
    def preflight(self, request, pk=None):
        """Recipients, duration, tier headroom, template state and estimated cost."""
        return Response(campaign_preflight(self.get_object()))


class SendBulkSerializer(CampaignCreateSerializer):
    recipients = serializers.ListField(child=serializers.DictField(), allow_empty=False)
    send_at = AwareDateTimeField(
        required=False, allow_null=True, help_text="ISO 8601 with a time zone"
    )


class SendBulkView(APIView):
    """Create a campaign from a template and recipients and start it, in one call."""

    throttle_classes = [SendThrottle]

    @extend_schema(
        request=SendBulkSerializer,
        responses={201: CampaignSerializer, 409: docs.CANNOT_TRANSITION},
        examples=docs.BULK_EXAMPLES,
    )
    def post(self, request):
        body = SendBulkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        campaign, report = campaign_send_bulk(
            user=request.user,
            name=data["name"],
            template=template_or_400(request.user, data["template_id"]),
            recipients=data["recipients"],
            worker_count=data.get("worker_count"),
            rate_limit=data.get("rate_limit"),
            send_at=data.get("send_at"),
            breaker=data.get("breaker"),
            marketing_policy=data.get("marketing_policy"),
            message_activity_sharing=data.get("message_activity_sharing"),
            offer_expires_at=data.get("offer_expires_at"),
            numbers=data.get("numbers"),
        )
        result = CampaignSerializer(campaign).data
        result["import"] = ImportReportSerializer(report).data
        return Response(result, status=status.HTTP_201_CREATED)
