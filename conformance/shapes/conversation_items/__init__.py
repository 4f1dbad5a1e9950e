"""The conversation-with-items shape: conversations holding items, created, listed, read and deleted.

- `profile.py`: `ConversationProfile`, the profile base a family of this shape subclasses (requests for
  conversation and item CRUD, reading answers, the family's rules), which provides the shared checks'
  hooks from those, and `ConversationItems`, the item list the pagination check walks;
- `lifecycle.py`: the shape's `lifecycle` check, which `ConversationProfile.checks` lists.
"""

from conformance.shapes.conversation_items.profile import ConversationItems, ConversationProfile, Pagination

__all__ = ["ConversationItems", "ConversationProfile", "Pagination"]
