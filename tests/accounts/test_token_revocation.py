"""Tokens end when they should: a password change ends every token issued before it (access
and refresh), a refresh token works once, and a deleted user's refresh token is a 401."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"


def tokens(client, password="password-123") -> dict:
    response = client.post(TOKEN, {"username": "alice", "password": password}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def me(access: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/v1/me/").status_code


def test_a_password_change_ends_every_earlier_token(owner, anon_api):
    old = tokens(anon_api)
    assert me(old["access"]) == 200

    owner.set_password("a-new-password-456")
    owner.save()

    assert me(old["access"]) == 401
    refreshed = anon_api.post(REFRESH, {"refresh": old["refresh"]}, format="json")
    assert refreshed.status_code == 401
    assert refreshed.json()["code"] == "token_not_valid"
    assert "log in again" in refreshed.json()["detail"]
    fresh = tokens(anon_api, password="a-new-password-456")
    assert me(fresh["access"]) == 200


def test_a_refresh_token_works_once(owner, anon_api):
    first = tokens(anon_api)

    rotated = anon_api.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    replayed = anon_api.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    again = anon_api.post(REFRESH, {"refresh": rotated.json()["refresh"]}, format="json")

    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first["refresh"]
    assert me(rotated.json()["access"]) == 200
    assert replayed.status_code == 401  # blacklisted after its one use
    assert again.status_code == 200


def test_a_deleted_users_refresh_token_is_refused_not_a_500(owner, anon_api):
    issued = tokens(anon_api)
    owner.delete()

    response = anon_api.post(REFRESH, {"refresh": issued["refresh"]}, format="json")

    assert response.status_code == 401
    assert me(issued["access"]) == 401
