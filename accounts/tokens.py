"""JWTs that end when they should: each carries a digest of the user's password hash
(simplejwt's CHECK_REVOKE_TOKEN), so changing the password ends every token issued before;
a refresh token is used once (ROTATE_REFRESH_TOKENS, then blacklisted)."""

from django.contrib.auth import get_user_model
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

ENDED = "This token is no longer valid (the password changed, or the user is gone): log in again."


class RefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, which also refuses a refresh token issued before the password
    changed (simplejwt checks that only on access tokens) and one whose user was deleted
    (simplejwt would fail with a server error)."""

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])  # expired or blacklisted: a 401 already
        user_id = refresh.payload.get(api_settings.USER_ID_CLAIM)
        user = (
            get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
            if user_id is not None
            else None
        )
        if user is None or refresh.payload.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(ENDED, "token_not_valid")
        return super().validate(attrs)
