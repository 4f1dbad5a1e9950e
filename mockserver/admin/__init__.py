"""The admin side of the mock: the ``/__admin`` API (``api``, ``sections``), seed fixtures
(``fixtures``), the request journal and access log (``journal``) and what they read from a family's
contract (``spec_index``)."""
