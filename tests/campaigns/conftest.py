import pytest

from ..factories import MessageTemplateFactory, WhatsAppAccountFactory
from ..templates_app import meta_shapes


def make_template(workspace, shape=meta_shapes.DELIVERY_WINDOW, **overrides):
    account = WhatsAppAccountFactory(workspace=workspace)
    fields = {
        "meta_id": shape["id"],
        "name": shape["name"],
        "language": shape["language"],
        "status": "APPROVED",
        "category": shape["category"],
        "parameter_format": shape["parameter_format"],
        "components": shape["components"],
    }
    fields.update(overrides)
    return MessageTemplateFactory(account=account, **fields)


@pytest.fixture
def template_a(workspace_a):
    """Positional body with four variables (delivery_window)."""
    return make_template(workspace_a)


@pytest.fixture
def campaign_a(owner_api, template_a):
    response = owner_api.post(
        "/api/v1/campaigns/", {"name": "Parcels", "template_id": str(template_a.id)}, format="json"
    )
    assert response.status_code == 201, response.json()
    from campaigns.models import Campaign

    return Campaign.objects.get(id=response.json()["id"])
