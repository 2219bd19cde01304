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

from .audiences.mapping import AUDIENCE_KEYS, FIELDS, mapping_sources
from .audiences.resolve import audience_preview
from .audiences.timeline import contact_timeline, recipient_events
from .forms import default_sources, mapping_rows, posted_audience, posted_mapping, posted_sources
from .importing.pipeline import campaign_variables
from .models import Contact, ContactList, Segment
from .selectors import campaign_get_for_user
from .services.campaigns import EDITABLE, campaign_update

TIMELINE_PAGE = 20


@login_required
def campaign_audience(request, campaign_id):
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    variables = campaign_variables(campaign)
    editable = campaign.status in EDITABLE and campaign.audience_resolved_at is None
    sources = mapping_sources(campaign.mapping) if campaign.mapping else default_sources(variables)
    chosen = campaign.audience
    if request.method == "POST" and editable:
        audience = posted_audience(request.POST)
        with shown_as_message(request) as shown:
            campaign_update(
                user=request.user,
                campaign=campaign,
                audience=audience,
                mapping=posted_mapping(request.POST, variables),
            )
        if not shown.error:
            messages.success(request, "Audience saved. Check the preview, then send.")
            return redirect("campaign_audience", campaign_id=campaign.pk)
        # Shown again as entered; the preview below is still the saved audience's.
        sources, chosen = posted_sources(request.POST, variables), audience
        campaign.refresh_from_db()
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
            "chosen": {k: set(chosen.get(k) or []) for k in AUDIENCE_KEYS},
            "rows": mapping_rows(variables, sources),
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
