"""ApiVersions (key 18), versions 0-4: what this broker serves, built from the registry.

Behaviour:

* ``api_keys`` lists every module in :mod:`core.api` with its ``MIN_VERSION`` and
  ``MAX_VERSION`` (:func:`core.api.load_handlers`), so what is advertised is exactly what
  is implemented. Sorted by API key.
* ``throttle_time_ms`` is 0 (kafka-python pauses itself on non-zero). No features are
  supported or finalized: ``supported_features`` and ``finalized_features`` are empty,
  ``finalized_features_epoch`` is -1 ("unknown"), as a broker without feature flags.
* A request for a version above 4 never reaches this module: the server answers it with
  error 35 (UNSUPPORTED_VERSION) in a v0 body listing ApiVersions' own range, and the
  client retries with a version in range (see core/server.py).

Version notes: v1 adds ``throttle_time_ms``; v3 is flexible (compact arrays, tagged
fields; the *response header* still has no tagged fields, which the codec handles) and
the request carries ``client_software_name`` / ``client_software_version``, recorded on
the connection for the monitor; v4 only changes how features with min version 0 are
reported, which does not matter with no features.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext

API_KEY = 18
MIN_VERSION = 0
MAX_VERSION = 4

_api_keys: list[dict] | None = None


def advertised_api_keys() -> list[dict]:
    """The ``api_keys`` array: every registered API with its version range (cached)."""
    global _api_keys
    if _api_keys is None:
        # Imported lazily: the registry imports this module, so it cannot run at import time.
        from streamscope.core.api import load_handlers

        _api_keys = [
            {"api_key": key, "min_version": m.MIN_VERSION, "max_version": m.MAX_VERSION}
            for key, m in sorted(load_handlers().items())
        ]
    return _api_keys


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    if version >= 3:
        conn = ctx.connection
        conn.software_name = request.get("client_software_name") or None
        conn.software_version = request.get("client_software_version") or None
    return {
        "error_code": 0,
        "api_keys": advertised_api_keys(),
        "throttle_time_ms": 0,
        "supported_features": [],
        "finalized_features_epoch": -1,
        "finalized_features": [],
    }
