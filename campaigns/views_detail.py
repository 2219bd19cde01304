"""The campaign page: its live figures (an htmx fragment polled while it moves), its charts'
data (the stats API), its recipients table, and its controls. Thin: each action calls the
service the API calls, and shows what it refuses as a message (config/web.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.timezone import localtime
from django.views.decorators.http import require_POST

from config.web import form_errors_as_messages, shown_as_message

from .engine import paths
from .engine.breaker import BreakerSettings
from .forms import EXPORT_SEGMENTS, BreakerForm, RecipientFilterForm, SendForm
from .forms_numbers import NumbersForm
from .models import Campaign, Recipient
from .models_numbers import numbers_of
from .preflight import campaign_actual_cost, campaign_preflight
from .selectors import (
    NumberLabels,
    campaign_deferred,
    campaign_deferred_until,
    campaign_eta,
    campaign_funnel,
    campaign_get_for_user,
    campaign_held,
    campaign_number_breakdown,
    recipient_page,
    sending_number_id,
)
from .services.campaigns import BREAKER_EDITABLE, campaign_delete, campaign_update
from .services.reruns import campaign_rerun, campaign_retry_failed
from .services.sending import campaign_pause, campaign_resume, campaign_send, campaign_stop
from .views import preview_for_page

LIVE = (Campaign.Status.RUNNING, Campaign.Status.SCHEDULED)
# The cards: every recipient in exactly one of these states, so they add up to the total.
STATE_CARDS = [
    ("pending", "Pending", "pending_count"),
    ("sending", "Sending", "sending_count"),
    ("sent", "Sent", "sent_count"),
    ("delivered", "Delivered", "delivered_count"),
    ("read", "Read", "read_count"),
    ("failed", "Failed", "failed_count"),
    ("skipped", "Skipped", "skipped_count"),
    ("unknown", "Unknown", "unknown_count"),
]


def live_context(campaign: Campaign) -> dict:
    """What the live fragment shows: the state cards, the funnel's rates, the progress, the
    ETA and the deferred recipients."""
    total = campaign.total_recipients
    done = total - campaign.pending_count - campaign.sending_count
    deferred = campaign_deferred(campaign, limit=5)
    held = campaign_held(campaign)
    return {
        "campaign": campaign,
        "cards": [(key, label, getattr(campaign, field)) for key, label, field in STATE_CARDS],
        "funnel": campaign_funnel(campaign),
        "progress": round(100 * done / total, 1) if total else 0,
        "eta": campaign_eta(campaign, deferred=deferred),
        "deferred": deferred,
        "deferred_until": campaign_deferred_until(campaign, deferred=deferred),
        # Held recipients still move (Meta delivers or drops them), even once it completed.
        "live": campaign.status in LIVE or held > 0,
        "actual_cost": campaign_actual_cost(campaign),
        "held": held,
    }


@login_required
def campaign_detail(request, campaign_id):
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    breaker = BreakerSettings.resolve(campaign.workspace.breaker_defaults, campaign.breaker)
    numbers = numbers_of(campaign)
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            **live_context(campaign),
            **_numbers_context(campaign, numbers),
            **_recipients_context(request, campaign, numbers),
            "preflight": campaign_preflight(campaign)
            if campaign.status in ("draft", "scheduled")
            else None,
            "imports": campaign.imports.all()[:10],
            "preview": preview_for_page(request, campaign),
            "send_form": SendForm(
                initial={
                    "rate_limit": campaign.rate_limit,
                    "worker_count": campaign.worker_count,
                    "send_at": campaign.send_at,
                }
            ),
            "breaker": breaker,
            "breaker_form": BreakerForm.for_campaign(campaign, breaker),
            "breaker_editable": campaign.status in BREAKER_EDITABLE,
            "export_segments": [(key, label) for key, (label, _) in EXPORT_SEGMENTS.items()],
            "deletable": campaign.status != Campaign.Status.RUNNING,
            "send_path": paths.send_path(campaign),
        },
    )


@login_required
def campaign_live(request, campaign_id):
    """The live fragment (htmx polls it while the campaign moves). When the status is no
    longer the one the page was drawn for, the page reloads whole: its controls change."""
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    if request.htmx and request.GET.get("shown") not in (None, campaign.status):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "campaigns/_live.html", live_context(campaign))


def _numbers_context(campaign: Campaign, numbers: list) -> dict:
    """The Numbers card: the numbers it sends from and what each sent (only when it has more
    than its own: the breakdown is a GROUP BY over what was sent), and "Also send from" while
    the pool may change (draft, scheduled, paused) and there is a number to choose."""
    pooled = len(numbers) > 1
    form = NumbersForm(campaign=campaign) if campaign.status in BREAKER_EDITABLE else None
    return {
        "numbers": numbers,
        "pooled": pooled,
        "number_breakdown": campaign_number_breakdown(campaign, numbers=numbers)
        if pooled
        else None,
        "numbers_form": form if form is not None and form.accounts else None,
    }


def _recipients_context(request, campaign: Campaign, numbers: list) -> dict:
    form = RecipientFilterForm(request.GET or None)
    statuses, phone, after = [], None, None
    if form.is_bound and form.is_valid():
        statuses = [form.cleaned_data["status"]] if form.cleaned_data["status"] else []
        phone = form.cleaned_data["phone"] or None
        after = form.cleaned_data["after"]
    rows, next_after = recipient_page(
        campaign=campaign, statuses=statuses, phone=phone, after=after
    )
    # The "From" column, only when the campaign sends from more than one number.
    labels = NumberLabels(numbers) if len(numbers) > 1 else None
    rows = [_row(r, campaign=campaign, labels=labels) for r in rows]
    query = request.GET.copy()
    query.pop("after", None)
    return {
        "recipient_form": form,
        "recipients": rows,
        "recipients_next": f"?{query.urlencode()}&after={next_after}" if next_after else None,
        "recipients_first": f"?{query.urlencode()}" if after else None,
        "recipients_filtered": bool(statuses or phone),
        "recipients_from": labels is not None,
    }


LABELS = dict(Recipient.Status.choices)


def _time(moment) -> str:
    return localtime(moment).strftime("%m-%d %H:%M:%S") if moment else "—"


def _row(r: Recipient, *, campaign: Campaign, labels: NumberLabels | None) -> dict:
    """One table row, its text made here: a template's per-cell filters cost more than the
    query on a 50-row page. `labels`: the numbers' (a pooled campaign's "From")."""
    values = r.values if isinstance(r.values, dict) else {}
    waiting = r.status == Recipient.Status.PENDING and r.next_attempt_at
    number = None
    if labels is not None:
        number = sending_number_id(
            campaign, number_id=r.number_id, send_path=r.send_path, sent_at=r.sent_at
        )
    return {
        "number": labels[number] if number is not None and labels is not None else "",
        "status": r.status,
        "label": LABELS.get(r.status, r.status),
        "phone": r.phone,
        "skip_reason": r.skip_reason,
        "next_attempt": _time(r.next_attempt_at) if waiting else "",
        "values": " · ".join(str(v)[:40] for v in values.values()),
        "values_title": "\n".join(f"{k}: {v}" for k, v in values.items()),
        "sent": _time(r.sent_at),
        "send_path": r.send_path,
        "delivered": _time(r.delivered_at),
        "read": _time(r.read_at),
        "error_code": r.error_code or "",
        "error_title": r.error_title,
        "error_details": r.error_details[:120],
    }


@login_required
def campaign_recipients(request, campaign_id):
    """The recipients table alone (htmx swaps it in when a filter or a page changes)."""
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    if not request.htmx:
        url = reverse("campaign_detail", args=[campaign.pk])
        return redirect(f"{url}?{request.GET.urlencode()}#recipients")
    return render(
        request,
        "campaigns/_recipients.html",
        {"campaign": campaign, **_recipients_context(request, campaign, numbers_of(campaign))},
    )


@login_required
def campaign_export(request, campaign_id):
    """The download form's target: the API's streamed export of one segment."""
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    segment = EXPORT_SEGMENTS.get(request.GET.get("segment", "all"), EXPORT_SEGMENTS["all"])
    fmt = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    url = reverse("campaign-export", args=[campaign.pk])
    status = ",".join(segment[1])
    return redirect(f"{url}?format={fmt}" + (f"&status={status}" if status else ""))


@login_required
@require_POST
def campaign_control(request, campaign_id, action):
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    user = request.user
    with shown_as_message(request):
        if action == "send":
            form = SendForm(request.POST)
            if not form.is_valid():
                form_errors_as_messages(request, form)
                return redirect("campaign_detail", campaign_id=campaign.pk)
            fields = dict(form.cleaned_data)
            if "schedule" not in request.POST:
                fields["send_at"] = None  # "Send now" ignores a time left in the field
            elif fields["send_at"] is None:
                messages.error(request, "Pick the date and time to send at.")
                return redirect("campaign_detail", campaign_id=campaign.pk)
            campaign = campaign_send(user=user, campaign=campaign, **fields)
            if campaign.status == Campaign.Status.SCHEDULED:
                messages.success(request, "Scheduled. It starts by itself at the time shown.")
        elif action == "breaker":
            form = BreakerForm(request.POST)
            if not form.is_valid():
                form_errors_as_messages(request, form)
                return redirect("campaign_detail", campaign_id=campaign.pk)
            campaign_update(user=user, campaign=campaign, breaker=form.overrides())
            messages.success(request, "Breaker thresholds saved.")
        elif action == "numbers":
            form = NumbersForm(request.POST, campaign=campaign)
            if not form.is_valid():
                form_errors_as_messages(request, form)
                return redirect(f"{reverse('campaign_detail', args=[campaign.pk])}#numbers")
            campaign_update(user=user, campaign=campaign, numbers=form.cleaned_data["numbers"])
            count = len(numbers_of(campaign))
            messages.success(request, f"Saved: it sends from {count} number{pluralize(count)}.")
        elif action == "pause":
            campaign_pause(user=user, campaign=campaign)
        elif action == "resume":
            campaign_resume(user=user, campaign=campaign)
        elif action == "stop":
            campaign_stop(user=user, campaign=campaign)
        elif action == "retry":
            count = campaign_retry_failed(user=user, campaign=campaign)
            messages.success(request, f"{count} failed recipients queued again.")
        elif action == "rerun":
            rerun = campaign_rerun(
                user=user, campaign=campaign, segment=request.POST.get("segment") or "all"
            )
            messages.success(
                request, f"Created {rerun.name} with {rerun.total_recipients} recipients."
            )
            return redirect("campaign_detail", campaign_id=rerun.pk)
        elif action == "delete":
            name = campaign.name
            campaign_delete(user=user, campaign=campaign)
            messages.success(request, f"Deleted {name}.")
            return redirect("campaign_list")
        else:
            messages.error(request, "Unknown action.")
    return redirect("campaign_detail", campaign_id=campaign.pk)
