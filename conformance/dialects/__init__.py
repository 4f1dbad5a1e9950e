"""Error dialects, one module each: how a family's framework or vendor reports errors, and what the
neutral vocabulary of the shared checks (`conformance.vocabulary.Reason`, a location) means in it.

- `fastapi`: FastAPI / pydantic v2 (`{"detail": [{loc, msg, type}]}` on 422, `{"detail": "<text>"}`
  otherwise), used by any FastAPI-based vendor;
- `openai`: OpenAI's envelope (`{"error": {message, type, param, code}}`, 400 for invalid requests).
- `drf`: Django REST framework as drf-exceptions-hog renders it (`{type, code, detail, attr}`, 400
  `validation_error` naming the field in `attr`), used by PostHog.

A dialect is a `Profile` subclass holding only error conventions; a family mixes it in with its
shape (`class X(ConversationProfile, OpenAIErrors)`).
"""
