"""The workspace, account and approved template a benchmark sends or imports for."""


def tagged_account_and_template(
    *, name: str, tag: str, phone_digit: str, template_name: str, components: list, **account
):
    """A new workspace named `{name}-{tag}` with one WhatsApp account (ids and secrets derived
    from `tag`, its phone number id starting with `phone_digit`) and one APPROVED template."""
    from accounts.models import Workspace
    from templates_app.models import MessageTemplate
    from whatsapp.models import WhatsAppAccount

    workspace = Workspace.objects.create(name=f"{name}-{tag}")
    number = int(tag, 16) % 10**14
    account = WhatsAppAccount.objects.create(
        workspace=workspace,
        name="bench",
        waba_id=f"9{number:014d}",
        phone_number_id=f"{phone_digit}{number:014d}",
        access_token="bench-token",
        app_secret=f"bench-secret-{tag}",
        verify_token=f"bench-verify-{tag}",
        **account,
    )
    template = MessageTemplate.objects.create(
        workspace=workspace,
        account=account,
        meta_id=f"7{tag}",
        name=template_name,
        language="en_US",
        status="APPROVED",
        components=components,
    )
    return workspace, account, template
