"""The dashboard's template pages: the list and a template's detail, as the recipient sees it."""

import pytest

from ..factories import CampaignFactory, MessageTemplateFactory
from . import meta_shapes
from .test_samples_and_api import template_from

pytestmark = pytest.mark.django_db

CAROUSEL = [
    {"type": "BODY", "text": "Our picks for you, {{1}}", "example": {"body_text": [["Ana"]]}},
    {"type": "CAROUSEL", "cards": []},
]


def page(client, user, url):
    client.force_login(user)
    return client.get(url)


def test_list_shows_each_template_as_the_recipient_sees_it(client, owner, workspace_a):
    template_from(meta_shapes.CART_REMINDER, workspace_a)
    html = page(client, owner, "/templates/").content.decode()
    assert 'href="/static/css/templates.css"' in html
    # header, body, footer and buttons, each placeholder a chip with its example
    assert '<p class="wa-header">Still thinking, <span class="chip"' in html
    assert '<span class="ph">{{1}}</span><span class="ex">Sam</span>' in html
    assert "items is saved. Finish checkout before" in html
    assert '<span class="ex">Friday</span>' in html
    assert '<p class="wa-footer">Reply STOP to opt out</p>' in html
    assert '<li class="wa-button btn-url">Open basket</li>' in html
    assert '<li class="wa-button btn-quick_reply">Stop promotions</li>' in html
    assert "<code>button_0_url_param</code>" in html
    assert "Marketing" in html


def test_member_sees_the_detail_with_variables_buttons_and_campaigns(client, member, workspace_a):
    template = template_from(meta_shapes.CART_REMINDER, workspace_a, quality_score="GREEN")
    CampaignFactory(template=template, name="Basket nudges")
    response = page(client, member, f"/templates/{template.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cart_reminder_v2" in html
    for place in ("Header {{1}}", "Body {{2}}", "Button 1"):
        assert place in html
    assert 'https://shop.example.com/cart/<span class="chip"' in html
    assert '<span class="ex">c-7f3a9</span>' in html  # the suffix, not the whole example URL
    assert '<span class="quality q-green">Green</span>' in html
    assert "Basket nudges" in html
    assert f"/api/v1/templates/{template.pk}/sample/?format=csv" in html
    assert f"/api/v1/templates/{template.pk}/sample/?format=xlsx" in html


def test_named_media_and_copy_code_shapes_render(client, owner, workspace_a):
    named = template_from(meta_shapes.APPOINTMENT, workspace_a)
    coupon = template_from(meta_shapes.WINTER_COUPON, workspace_a)
    html = page(client, owner, f"/templates/{named.pk}/").content.decode()
    assert '<span class="ph">{{first_name}}</span><span class="ex">Leo</span>' in html
    assert '<li class="wa-button btn-phone_number">Call us</li>' in html
    assert "+442079460000" in html
    html = page(client, owner, f"/templates/{coupon.pk}/").content.decode()
    assert '<div class="wa-media wa-image"><span>Image</span>' in html
    assert '<li class="wa-button btn-copy_code">Copy offer code</li>' in html
    assert "Usa el código" in html
    assert "Not sendable: the template is paused." in html  # PAUSED: no sample links
    assert "/sample/?format=csv" not in html


def test_unsupported_template_says_so_plainly(client, owner, workspace_a):
    MessageTemplateFactory(account__workspace=workspace_a, name="picks", components=CAROUSEL)
    html = page(client, owner, "/templates/").content.decode()
    assert "Cannot be sent by Broadcast yet: carousel of 0 cards (Meta allows 2 to 10)." in html
    assert "not sendable" in html


def test_text_is_escaped(client, owner, workspace_a):
    body = [{"type": "BODY", "text": "<script>alert(1)</script> {{1}}"}]
    template = MessageTemplateFactory(account__workspace=workspace_a, components=body)
    html = page(client, owner, f"/templates/{template.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_outsider_gets_404_on_the_detail(client, outsider, workspace_a):
    template = template_from(meta_shapes.DELIVERY_WINDOW, workspace_a)
    assert page(client, outsider, f"/templates/{template.pk}/").status_code == 404
    assert "delivery_window" not in page(client, outsider, "/templates/").content.decode()


def test_detail_needs_a_login(client, workspace_a):
    template = template_from(meta_shapes.DELIVERY_WINDOW, workspace_a)
    assert client.get(f"/templates/{template.pk}/").status_code == 302


def test_filters_by_category_and_language(client, owner, workspace_a):
    template_from(meta_shapes.CART_REMINDER, workspace_a)  # MARKETING, en
    template_from(meta_shapes.APPOINTMENT, workspace_a)  # UTILITY, en_GB
    html = page(client, owner, "/templates/?category=UTILITY").content.decode()
    assert "appointment_confirmed" in html
    assert "cart_reminder_v2" not in html
    html = client.get("/templates/?language=en").content.decode()
    assert "cart_reminder_v2" in html
    assert "appointment_confirmed" not in html
    html = client.get("/templates/?q=nothing-like-it").content.decode()
    assert "No templates match." in html
