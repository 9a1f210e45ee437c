"""An Issuetrak API v2 simulator: a real HTTP server with one scenario site per failure mode.

    from connections.simulator import IssuetrakSimulator

    with IssuetrakSimulator() as sim:               # 127.0.0.1, a free port, plain HTTP
        url = sim.site_url("healthy")               # the site's Application URL
        requests.get(f"{url}/api/v2/Authenticate/test", headers={"X-Api-Key": "good-token"})

Used by the tests, the demo and onboarding practice (``manage.py issuetrak_simulator``). The
scenario sites are listed in `connections.simulator.scenarios`; the JSON format for more sites
is in `connections.simulator.sites`. What the simulator decided where Issuetrak documents
nothing (all **assumed**, like the client's reading of them):

- ``GET /Authenticate/test`` answers 200 with ``{"traceId": ...}`` (the document shows no body).
- A token whose user is inactive answers 401 on every path, like a wrong token. A valid token
  whose user has neither ``CanUseApiV2`` nor Sys Admin answers 403.
- Reads of System/Settings, Users and Groups need the Administration screens: Sys Admin,
  ``IsAdmin`` or ``IsReadOnlyAdmin``. A read-only administrator therefore reads everything
  (and the checklist fails it on its groups' permissions). Writes (``POST /Groups``,
  ``PUT /Groups/{iid}``, ``PUT /Users/{iid}``, ``POST``/``DELETE /Users/{iid}/Memberships/Groups``)
  need Sys Admin or ``IsAdmin`` without ``IsReadOnlyAdmin``; a PUT replaces the object (fields left
  out become empty, ``isActive`` true), and every refusal is a 400 ``Validation`` envelope (see
  `connections.simulator.writes`). Writes change `IssuetrakSimulator.sites` in memory only.
- API v2 not installed, an unknown site, or a path outside ``/api/v2``: IIS's HTML 404 page.
- API v2 disabled: 403 with ``information[0].type == "ApiDisabled"``, before authentication.
- Rate limits per site, shared by all its tokens: Issuetrak's six windows (20 requests/s,
  5 writes/s, 100/min, 100/10 min, 1000/h, 1000/12 h); 429 with ``Retry-After`` (whole seconds)
  and an error envelope. Every request reaching a site's API is counted with its peak per window:
  ``sim.peak(url, "per_10_minutes")``, ``sim.rate_stats()`` or ``GET /_sim/stats`` (see
  `connections.simulator.ratelimit` and `connections.simulator.stats`).
"""

from connections.simulator.scenarios import GOOD_TOKEN
from connections.simulator.server import IssuetrakSimulator

__all__ = ["GOOD_TOKEN", "IssuetrakSimulator"]
