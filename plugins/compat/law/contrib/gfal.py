"""``law.gfal``: law's gfal2 names on law-core-gfal.

``law.gfal.GFALFileInterface`` is law-core-gfal's file interface (gfal2 behind law-core's
retries, failover and atomic writes); :class:`GFALFileSystem` is its file system, for
file systems of law's own, as law's wlcg and dropbox packages build on it.
"""

from __future__ import annotations

from law_core_gfal import GFALFileInterface, GFALFileSystem

__all__ = ["GFALFileInterface", "GFALFileSystem"]
