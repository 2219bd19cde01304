"""factory_boy factories for every model the tests build rows of."""

import factory
from django.contrib.auth import get_user_model

from accounts.models import Membership, Workspace
from campaigns.models import Campaign, OptOut, Recipient
from templates_app.models import MessageTemplate
from whatsapp.models import WhatsAppAccount


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "password-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook
        if create:
            obj.save()


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Membership.Role.MEMBER


class WhatsAppAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WhatsAppAccount

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Number {n}")
    waba_id = factory.Sequence(lambda n: f"{200000000000000 + n}")
    phone_number_id = factory.Sequence(lambda n: f"{100000000000000 + n}")
    display_phone_number = factory.Sequence(lambda n: f"1555{n:07d}")
    access_token = factory.Sequence(lambda n: f"EAAG-token-{n:06d}-secret")
    app_secret = factory.Sequence(lambda n: f"app-secret-{n:06d}")
    verify_token = factory.Sequence(lambda n: f"verify-{n:06d}")


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageTemplate

    account = factory.SubFactory(WhatsAppAccountFactory)
    workspace = factory.SelfAttribute("account.workspace")
    meta_id = factory.Sequence(lambda n: f"{1400000000000000 + n}")
    name = factory.Sequence(lambda n: f"template_{n}")
    language = "en_US"
    status = MessageTemplate.Status.APPROVED
    category = MessageTemplate.Category.UTILITY
    parameter_format = MessageTemplate.ParameterFormat.POSITIONAL
    components = factory.LazyFunction(
        lambda: [
            {
                "type": "BODY",
                "text": "Hi {{1}}, your parcel {{2}} arrives {{3}}.",
                "example": {"body_text": [["Ana", "PK-88213", "tomorrow"]]},
            }
        ]
    )


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    template = factory.SubFactory(MessageTemplateFactory)
    account = factory.SelfAttribute("template.account")
    workspace = factory.SelfAttribute("template.workspace")
    name = factory.Sequence(lambda n: f"Campaign {n}")


class RecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recipient

    campaign = factory.SubFactory(CampaignFactory)
    phone = factory.Sequence(lambda n: f"+1415555{n:04d}")
    values = factory.LazyFunction(lambda: {"body_param_1": "Ana"})


class OptOutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OptOut

    workspace = factory.SubFactory(WorkspaceFactory)
    phone = factory.Sequence(lambda n: f"+4477009{n:05d}")
