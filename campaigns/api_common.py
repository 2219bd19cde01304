"""What the campaign API modules share: input lookups. (The services' refusals reach the
client through config/api_exceptions.py, not through per-view translation.)"""

from django.http import Http404
from rest_framework.exceptions import ValidationError

from accounts.selectors import get_scoped_or_404
from templates_app.models import MessageTemplate


def template_or_400(user, template_id) -> MessageTemplate:
    try:
        return get_scoped_or_404(MessageTemplate.objects.all(), user=user, id=template_id)
    except Http404:
        raise ValidationError({"template_id": ["Unknown template."]}) from None
