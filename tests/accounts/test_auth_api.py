import pytest

pytestmark = pytest.mark.django_db


def test_token_obtain_and_refresh_give_a_working_access_token(owner, anon_api):
    # when
    response = anon_api.post(
        "/api/v1/auth/token/", {"username": "alice", "password": "password-123"}, format="json"
    )
    # then
    assert response.status_code == 200
    access, refresh = response.json()["access"], response.json()["refresh"]
    anon_api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert anon_api.get("/api/v1/me/").json()["username"] == "alice"

    refreshed = anon_api.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert refreshed.status_code == 200
    anon_api.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert anon_api.get("/api/v1/me/").status_code == 200


def test_wrong_password_gets_no_token(owner, anon_api):
    response = anon_api.post(
        "/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json"
    )
    assert response.status_code == 401
    assert "access" not in response.json()


def test_bad_refresh_token_is_refused(anon_api):
    response = anon_api.post("/api/v1/auth/token/refresh/", {"refresh": "garbage"}, format="json")
    assert response.status_code == 401


def test_protected_endpoint_refuses_anonymous_callers(anon_api):
    response = anon_api.get("/api/v1/me/")
    assert response.status_code == 401


def test_protected_endpoint_refuses_a_forged_token(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged")
    assert anon_api.get("/api/v1/me/").status_code == 401


def test_me_lists_only_the_callers_workspaces(owner, member, outsider, owner_api, outsider_api):
    mine = owner_api.get("/api/v1/me/").json()["workspaces"]
    theirs = outsider_api.get("/api/v1/me/").json()["workspaces"]
    assert [(w["name"], w["role"]) for w in mine] == [("Workspace A", "owner")]
    assert [(w["name"], w["role"]) for w in theirs] == [("Workspace B", "owner")]
