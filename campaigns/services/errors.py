"""The refusal every campaign service raises for input a person must fix."""

from config.errors import Invalid


class CampaignError(Invalid):
    """A campaign change that cannot be made; `field` names the input at fault."""
