"""The webhook receiver, `GET|POST /webhooks/whatsapp/` (thin: the services decide)."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .services import webhook_receive, webhook_verify


@csrf_exempt  # Meta signs its POSTs (X-Hub-Signature-256); there is no session to protect
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request):
    if request.method == "GET":
        challenge = webhook_verify(
            mode=request.GET.get("hub.mode"),
            token=request.GET.get("hub.verify_token"),
            challenge=request.GET.get("hub.challenge"),
        )
        if challenge is None:
            return HttpResponseForbidden()
        return HttpResponse(challenge, content_type="text/plain")

    # Refuse an oversized body before reading it.
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.WEBHOOK_MAX_BODY_BYTES:
        return HttpResponse(status=413)
    try:
        body = request.body
    except RequestDataTooBig:
        return HttpResponse(status=413)
    receipt = webhook_receive(body=body, signature=request.headers.get("X-Hub-Signature-256"))
    return HttpResponse(status=receipt.status_code)
