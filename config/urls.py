"""URL map: the dashboard, the admin, the REST API under /api/v1/ and the webhook receiver."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views import defaults
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)
from rest_framework.routers import SimpleRouter

from accounts.api import MeView, TokenObtainPairView, TokenRefreshView, WorkspaceViewSet
from accounts.switcher import workspace_switch
from accounts.views import AdminLoginView, LoginView
from campaigns import views as campaign_views
from campaigns import views_audience as audience_views
from campaigns import views_audiences as segment_views
from campaigns import views_clicks as click_views
from campaigns import views_contacts as contact_views
from campaigns import views_detail as campaign_detail
from campaigns import views_optouts as optout_views
from campaigns.api import CampaignViewSet
from campaigns.api_audience import ContactTimelineView
from campaigns.api_contacts import ContactViewSet
from campaigns.api_lifecycle import SendBulkView
from campaigns.api_lists import ContactListViewSet
from campaigns.api_optouts import OptOutViewSet
from campaigns.api_segments import SegmentViewSet
from templates_app import views as template_views
from templates_app.api import AccountTemplateSyncView, TemplateViewSet
from webhooks.views import whatsapp_webhook
from whatsapp import views as number_views
from whatsapp.api import WhatsAppAccountViewSet

PAGE_METHODS = ["get", "head"]

router = SimpleRouter()
router.register("whatsapp-accounts", WhatsAppAccountViewSet, basename="whatsapp-account")
router.register("templates", TemplateViewSet, basename="template")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("opt-outs", OptOutViewSet, basename="opt-out")
router.register("workspaces", WorkspaceViewSet, basename="workspace")
router.register("contacts", ContactViewSet, basename="contact")
router.register("lists", ContactListViewSet, basename="list")
router.register("segments", SegmentViewSet, basename="segment")

api_v1 = [
    path("auth/token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("me/", MeView.as_view(), name="me"),
    path("send-bulk/", SendBulkView.as_view(), name="send_bulk"),
    re_path(
        r"^whatsapp-accounts/(?P<pk>[0-9a-fA-F-]{36})/sync-templates/$",
        AccountTemplateSyncView.as_view(),
        name="whatsapp-account-sync-templates",
    ),
    path(
        "contacts/<int:contact_id>/timeline/",
        ContactTimelineView.as_view(),
        name="contact-timeline",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Pages, not API operations: GET and HEAD only (DRF's OPTIONS would render them without
    # a template, a server error).
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="schema", http_method_names=PAGE_METHODS),
        name="docs",
    ),
    path(
        "redoc/",
        SpectacularRedocView.as_view(
            url_name="schema", template_name="api/redoc.html", http_method_names=PAGE_METHODS
        ),
        name="redoc",
    ),
    *router.urls,
]

urlpatterns = [
    path("", campaign_views.campaign_list, name="campaign_list"),
    path("campaigns/new/", campaign_views.campaign_new, name="campaign_new"),
    path("campaigns/<uuid:campaign_id>/", campaign_detail.campaign_detail, name="campaign_detail"),
    path(
        "campaigns/<uuid:campaign_id>/upload/",
        campaign_views.campaign_upload,
        name="campaign_upload",
    ),
    path(
        "campaigns/<uuid:campaign_id>/upload/confirm/",
        campaign_views.campaign_upload_confirm,
        name="campaign_upload_confirm",
    ),
    path(
        "campaigns/<uuid:campaign_id>/upload/not-imported/",
        campaign_views.campaign_upload_problems,
        name="campaign_upload_problems",
    ),
    path(
        "campaigns/<uuid:campaign_id>/upload/preview/",
        campaign_views.campaign_upload_preview,
        name="campaign_upload_preview",
    ),
    path(
        "campaigns/<uuid:campaign_id>/upload/cancel/",
        campaign_views.campaign_upload_cancel,
        name="campaign_upload_cancel",
    ),
    path("campaigns/<uuid:campaign_id>/live/", campaign_detail.campaign_live, name="campaign_live"),
    path(
        "campaigns/<uuid:campaign_id>/recipients/",
        campaign_detail.campaign_recipients,
        name="campaign_recipients",
    ),
    path(
        "campaigns/<uuid:campaign_id>/export/",
        campaign_detail.campaign_export,
        name="campaign_export",
    ),
    path(
        "campaigns/<uuid:campaign_id>/audience/",
        audience_views.campaign_audience,
        name="campaign_audience",
    ),
    path(
        "campaigns/<uuid:campaign_id>/<slug:action>/",
        campaign_detail.campaign_control,
        name="campaign_control",
    ),
    path("templates/", template_views.template_list, name="template_list"),
    path(
        "templates/<uuid:template_id>/",
        template_views.template_detail,
        name="template_detail",
    ),
    path(
        "templates/sync/<uuid:account_id>/",
        template_views.template_sync,
        name="template_sync",
    ),
    path("numbers/", number_views.number_list, name="number_list"),
    path("numbers/new/", number_views.number_new, name="number_new"),
    path("numbers/<uuid:account_id>/", number_views.number_detail, name="number_detail"),
    path("numbers/<uuid:account_id>/test/", number_views.number_test, name="number_test"),
    path("numbers/<uuid:account_id>/delete/", number_views.number_delete, name="number_delete"),
    path("opt-outs/", optout_views.optout_list, name="optout_list"),
    path("opt-outs/add/", optout_views.optout_add, name="optout_add"),
    path("opt-outs/import/", optout_views.optout_import, name="optout_import"),
    path("opt-outs/export/", optout_views.optout_export, name="optout_export"),
    path("opt-outs/<int:optout_id>/remove/", optout_views.optout_remove, name="optout_remove"),
    path("lists/", segment_views.list_index, name="list_index"),
    path("lists/<uuid:list_id>/", segment_views.list_detail, name="list_detail"),
    path("lists/<uuid:list_id>/edit/", segment_views.list_edit, name="list_edit"),
    path("lists/<uuid:list_id>/delete/", segment_views.list_delete, name="list_delete"),
    path(
        "lists/<uuid:list_id>/members/<slug:change>/",
        segment_views.list_members_change,
        name="list_members_change",
    ),
    path("segments/", segment_views.segment_index, name="segment_index"),
    path("segments/new/", segment_views.segment_builder, name="segment_new"),
    path("segments/count/", segment_views.segment_count, name="segment_count"),
    path("segments/<uuid:segment_id>/", segment_views.segment_builder, name="segment_builder"),
    path(
        "segments/<uuid:segment_id>/delete/",
        segment_views.segment_delete_page,
        name="segment_delete",
    ),
    path("contacts/", contact_views.contact_list_page, name="contact_list"),
    path("contacts/import/", contact_views.contact_import_page, name="contact_import"),
    path(
        "contacts/import/preview/",
        contact_views.contact_import_preview,
        name="contact_import_preview",
    ),
    path(
        "contacts/import/confirm/",
        contact_views.contact_import_confirm,
        name="contact_import_confirm",
    ),
    path(
        "contacts/import/cancel/", contact_views.contact_import_cancel, name="contact_import_cancel"
    ),
    path(
        "contacts/import/not-imported/",
        contact_views.contact_import_problems,
        name="contact_import_problems",
    ),
    path("contacts/export/", contact_views.contact_export_page, name="contact_export"),
    path("contacts/<int:contact_id>/", contact_views.contact_detail, name="contact_detail"),
    path(
        "contacts/<int:contact_id>/timeline/",
        audience_views.contact_timeline_fragment,
        name="contact_timeline",
    ),
    path(
        "contacts/<int:contact_id>/subscription/",
        contact_views.contact_subscription,
        name="contact_subscription",
    ),
    path(
        "contacts/<int:contact_id>/erase/", contact_views.contact_erase_page, name="contact_erase"
    ),
    path("workspace/", workspace_switch, name="workspace_switch"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Before the admin's own: its login shares the dashboard's failed-login throttle.
    path("admin/login/", AdminLoginView.as_view(), name="admin_login"),
    path("admin/", admin.site.urls),
    path("webhooks/whatsapp/", whatsapp_webhook, name="whatsapp_webhook"),
    # A tracked link's redirect (docs/clicks.md): public, the token is the whole credential.
    path("r/<str:token>", click_views.click_redirect, name="click_redirect"),
    path("api/v1/", include(api_v1)),
]


def not_found(request, exception=None):
    """A URL nothing matches: under /api/ the API's JSON error body (an id of the wrong form,
    e.g. /api/v1/opt-outs/-1/, matches no route), elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


handler404 = not_found
