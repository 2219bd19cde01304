"""The OpenAPI examples of /api/v1/me/ (accounts/api.py)."""

from drf_spectacular.utils import OpenApiExample

ME_EXAMPLES = [
    OpenApiExample(
        "owner of one workspace, member of another",
        value={
            "username": "alice",
            "workspaces": [
                {"id": "aa8bef63-03da-420d-8d38-015addac382c", "name": "Acme", "role": "owner"},
                {"id": "5d0c8e8e-3b1f-4d4e-9c55-2f7f1c1a9b10", "name": "Beta", "role": "member"},
            ],
        },
        description="`role`: an owner also manages the workspace's WhatsApp connections "
        "(docs/api.md, Roles).",
    )
]
