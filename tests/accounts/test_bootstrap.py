import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.models import Membership, Workspace

pytestmark = pytest.mark.django_db


def bootstrap(*extra, workspace="Acme", username="ops", password="s3cret-pass"):
    call_command(
        "bootstrap_workspace",
        "--workspace",
        workspace,
        "--username",
        username,
        "--password",
        password,
        *extra,
    )


def test_bootstrap_creates_user_workspace_and_owner_membership():
    bootstrap()
    user = get_user_model().objects.get(username="ops")
    assert user.check_password("s3cret-pass")
    membership = Membership.objects.get(user=user)
    assert membership.workspace.name == "Acme"
    assert membership.role == Membership.Role.OWNER


def test_bootstrap_twice_changes_nothing(capsys):
    bootstrap()
    before = (
        list(get_user_model().objects.values()),
        list(Workspace.objects.values()),
        list(Membership.objects.values()),
    )
    bootstrap()
    after = (
        list(get_user_model().objects.values()),
        list(Workspace.objects.values()),
        list(Membership.objects.values()),
    )
    assert before == after
    assert "Nothing to do" in capsys.readouterr().out


def test_bootstrap_refuses_to_reset_an_existing_users_password():
    bootstrap()
    with pytest.raises(CommandError, match="different password"):
        bootstrap(password="another-password")
    assert get_user_model().objects.get(username="ops").check_password("s3cret-pass")


def test_bootstrap_refuses_to_join_someone_elses_workspace():
    bootstrap(username="first")
    with pytest.raises(CommandError, match="already exists"):
        bootstrap(username="intruder")
    assert not Membership.objects.filter(user__username="intruder").exists()
    # the whole command is one transaction: the intruder's user was not left behind either
    assert not get_user_model().objects.filter(username="intruder").exists()


def test_bootstrap_superuser_flag_gives_admin_access():
    bootstrap("--superuser")
    user = get_user_model().objects.get(username="ops")
    assert user.is_staff
    assert user.is_superuser


def test_bootstrap_requires_its_arguments():
    with pytest.raises(CommandError):
        call_command("bootstrap_workspace", "--workspace", "Acme")
