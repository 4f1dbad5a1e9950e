"""Reusable API shapes, one room each: a profile base a family of that shape subclasses, and the checks
written for the shape (which only families of the shape run).

- `conversation_items`: conversations holding items (OpenAI's Conversations API and any family built
  like it): `ConversationProfile` and the `lifecycle` check.

Shared checks (`conformance.checks`) never import a shape; a shape's checks take a
`CheckContext[<its profile base>]`.
"""
