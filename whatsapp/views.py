"""Dashboard pages for WhatsApp connections (/numbers/): list, connect, the number's page
(edit, test, delete). Thin: every write is a service of whatsapp/services.py, the same the
API calls; what a service refuses (a member's write among them) shows as a message."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.selectors import owned_workspace_ids_for_user
from accounts.switcher import current_workspace, user_workspaces
from config.errors import ApplicationError
from config.web import shown_as_message

from .crypto import mask
from .forms import AccountForm
from .selectors import account_get_for_user, account_list_for_user
from .services import (
    SECRET_FIELDS,
    account_create,
    account_delete,
    account_test_connection,
    account_update,
)

TEST_SESSION_KEY = "connection_test"


@login_required
def number_list(request):
    accounts = account_list_for_user(user=request.user)
    workspace = current_workspace(request)
    if workspace is not None:
        accounts = accounts.filter(workspace=workspace)
    owned = owned_workspace_ids_for_user(user=request.user)
    return render(
        request,
        "whatsapp/number_list.html",
        {
            "accounts": accounts,
            "can_connect": bool(owned),
            "several": len(user_workspaces(request)) > 1,
        },
    )


def _owned_workspaces(request):
    owned = owned_workspace_ids_for_user(user=request.user)
    return [w for w in user_workspaces(request) if w.pk in owned]


@login_required
def number_new(request):
    workspaces = _owned_workspaces(request)
    if not workspaces:
        messages.error(request, "Only a workspace owner can connect a WhatsApp number.")
        return redirect("number_list")
    form = AccountForm(request.POST or None)
    current = current_workspace(request)
    chosen = request.POST.get("workspace") or (current and str(current.pk)) or ""
    workspace = next((w for w in workspaces if str(w.pk) == chosen), None)
    if len(workspaces) == 1:
        workspace = workspaces[0]
    if request.method == "POST" and form.is_valid():
        if workspace is None:
            messages.error(request, "Choose the workspace this number belongs to.")
        elif _saved(
            request,
            form,
            lambda data: account_create(user=request.user, workspace=workspace, **data),
        ):
            account = form.saved
            messages.success(
                request,
                f"Connected {account.name}. Now test the connection and set up the webhook.",
            )
            return redirect("number_detail", account_id=account.pk)
    return render(
        request,
        "whatsapp/number_new.html",
        {"form": form, "workspaces": workspaces, "chosen": workspace and str(workspace.pk)},
    )


def _saved(request, form, save) -> bool:
    """Call the service with the form's values; a refusal about one field goes beside that
    field (the form is shown again with what was typed), any other becomes a message."""
    try:
        form.saved = save(form.values())
    except ApplicationError as exc:
        if exc.field in form.fields:
            form.add_error(exc.field, exc.message)
        else:
            messages.error(request, exc.message)
        return False
    return True


@login_required
def number_detail(request, account_id):
    account = account_get_for_user(user=request.user, account_id=account_id)
    is_owner = account.workspace_id in owned_workspace_ids_for_user(user=request.user)
    form = AccountForm(instance=account)
    if request.method == "POST":
        form = AccountForm(request.POST, instance=account)
        if not is_owner:
            # The service would refuse it too; said here before anything is validated.
            messages.error(request, "Only a workspace owner can manage WhatsApp connections.")
            return redirect("number_detail", account_id=account.pk)
        if form.is_valid() and _saved(
            request, form, lambda data: account_update(user=request.user, account=account, **data)
        ):
            messages.success(request, f"Saved {account.name}.")
            return redirect("number_detail", account_id=account.pk)
        account.refresh_from_db()  # the page shows what is stored, the form what was typed
    tests = request.session.get(TEST_SESSION_KEY) or {}
    test = tests.pop(str(account.pk), None)
    if test is not None:
        request.session[TEST_SESSION_KEY] = tests
    return render(
        request,
        "whatsapp/number_detail.html",
        {
            "account": account,
            "is_owner": is_owner,
            "form": form,
            "test": test,
            "masked": {name: mask(getattr(account, name)) for name in SECRET_FIELDS},
            "webhook_url": request.build_absolute_uri(reverse("whatsapp_webhook")),
        },
    )


@login_required
@require_POST
def number_test(request, account_id):
    """Test connection: inline (htmx) or, without JavaScript, on the number's page."""
    account = account_get_for_user(user=request.user, account_id=account_id)
    try:
        test = account_test_connection(user=request.user, account=account).as_dict()
    except ApplicationError as exc:
        if request.htmx:
            return render(request, "whatsapp/_refused.html", {"message": exc.message})
        messages.error(request, exc.message)
        return redirect("number_detail", account_id=account.pk)
    if request.htmx:
        return render(request, "whatsapp/_test_result.html", {"test": test, "inline": True})
    tests = request.session.get(TEST_SESSION_KEY) or {}
    tests[str(account.pk)] = test
    request.session[TEST_SESSION_KEY] = tests
    return redirect(f"{reverse('number_detail', args=[account.pk])}#test")


@login_required
@require_POST
def number_delete(request, account_id):
    account = account_get_for_user(user=request.user, account_id=account_id)
    name = account.name
    with shown_as_message(request) as shown:
        account_delete(user=request.user, account=account)
    if shown.error:
        return redirect("number_detail", account_id=account_id)
    messages.success(request, f"Deleted the connection {name}.")
    return redirect("number_list")
