"""The OpenAI error dialect: `{"error": {message, type, param, code}}` on every error, 400 for a request
that is invalid in any way (its `param` may name the field; the suite does not hold it to one), 404 for
anything unknown, including a URL outside the API.

`OpenAIErrors` is the profile mix-in for a family that answers errors as OpenAI does (OpenAI itself, and
the many OpenAI-compatible servers).
"""

from __future__ import annotations

from typing import ClassVar

from conformance.profiles.base import Profile
from conformance.vocabulary import Grounds, Probe, Reason, Request, Undo


class OpenAIErrors(Profile):
    """Profile mix-in for OpenAI's error envelope and statuses."""

    error_schema: ClassVar[str] = "ErrorResponse"
    rejection_status: ClassVar[int] = 400
    not_found_status: ClassVar[int] = 404

    def rejection(self, request: Request, location: tuple[str | int, ...], *reasons: Reason, why: str = "",
                  grounds: Grounds = Grounds.VENDOR_REFUSES, undo: Undo | None = None) -> Probe:
        # OpenAI says where (`param`) but documents no reason words: the status is what a client can rely on.
        return Probe(request, self.rejection_status, why, grounds=grounds, undo=undo)

    def not_found(self, request: Request, why: str = "") -> Probe:
        """A request for something that does not exist: 404 in the envelope (checked by error_envelope)."""
        return Probe(request, self.not_found_status, why)
