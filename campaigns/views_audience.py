"""Dashboard pages for sending to an audience: a draft campaign's "choose an audience" page
(lists, segments, exclusions, the column mapping against the template's variables, the
preview), and a contact's timeline fragment. Thin: the services are campaigns/audiences/ and
campaign_update, the same the API calls."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from accounts.selectors import get_scoped_or_404
from config.web import shown_as_message

from .audiences.mapping import FIELDS, KINDS, mapping_sources
from .audiences.resolve import audience_preview
from .audiences.timeline import contact_timeline, recipient_events
from .importing.pipeline import campaign_variables
from .models import Contact, ContactList, Segment
from .selectors import campaign_get_for_user
from .services.campaigns import EDITABLE, campaign_update

AUDIENCE_KEYS = ("lists", "segments", "exclude_lists", "exclude_segments")
TIMELINE_PAGE = 20


def _posted_mapping(request, variables) -> dict:
    """One (source kind, argument) pair per template column; a blank argument: not mapped
    (a field's argument is its select)."""
    mapping = {}
    for v in variables:
        kind = request.POST.get(f"kind_{v.column}", "")
        arg = request.POST.get(f"arg_{v.column}", "")
        if kind == "field":
            arg = request.POST.get(f"field_{v.column}", "")
        if kind in KINDS and arg != "":
            mapping[v.column] = f"{kind}:{arg}"
    return mapping


@login_required
def campaign_audience(request, campaign_id):
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    variables = campaign_variables(campaign)
    editable = campaign.status in EDITABLE and campaign.audience_resolved_at is None
    if request.method == "POST" and editable:
        audience = {key: request.POST.getlist(key) for key in AUDIENCE_KEYS}
        audience = {k: v for k, v in audience.items() if v}
        with shown_as_message(request) as shown:
            campaign_update(
                user=request.user,
                campaign=campaign,
                audience=audience,
                mapping=_posted_mapping(request, variables),
            )
        if not shown.error:
            messages.success(request, "Audience saved. Check the preview, then send.")
            return redirect("campaign_audience", campaign_id=campaign.pk)
        campaign.refresh_from_db()
    sources = mapping_sources(campaign.mapping)
    rows = [{"variable": v, "source": sources.get(v.column)} for v in variables]
    preview = None
    if campaign.audience and campaign.audience_resolved_at is None:
        preview = audience_preview(campaign=campaign)
    return render(
        request,
        "campaigns/_audience_page.html",
        {
            "campaign": campaign,
            "editable": editable,
            "lists": ContactList.objects.filter(workspace_id=campaign.workspace_id),
            "segments": Segment.objects.filter(workspace_id=campaign.workspace_id),
            "chosen": {k: set(campaign.audience.get(k) or []) for k in AUDIENCE_KEYS},
            "rows": rows,
            "fields": FIELDS,
            "report": preview,
        },
    )


@login_required
def contact_timeline_fragment(request, contact_id):
    """The contact's messages across campaigns, newest first (loaded into the contact page)."""
    contact = get_scoped_or_404(Contact.objects.all(), user=request.user, pk=contact_id)
    page = Paginator(contact_timeline(contact=contact), TIMELINE_PAGE).get_page(
        request.GET.get("page")
    )
    entries = [{"recipient": r, "events": recipient_events(r)} for r in page]
    return render(
        request,
        "campaigns/_audience_timeline.html",
        {"contact": contact, "page": page, "entries": entries},
    )
