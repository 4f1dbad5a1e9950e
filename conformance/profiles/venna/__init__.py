"""Venna gateway Conversations: the family profile for `openapi/venna-conversations.yaml` (`PROFILE`).

`profile` holds the family (OpenAI's conversation objects and envelope, Venna's wrapped items, the x402
402 challenge, the declared 501 `not_implemented`); `item_walk` its own check over the wrapped items.
"""

from conformance.profiles.venna.profile import PROFILE, VennaProfile

__all__ = ["PROFILE", "VennaProfile"]
