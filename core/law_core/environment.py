"""Which variables of the submitting shell reach jobs and sandboxes: only the declared ones.

``[job] forward_env`` and ``[sandbox] forward_env`` list names and glob patterns
(``MY_*``, ``X509_USER_PROXY``); nothing else is forwarded, so that secrets stay out of
jobs, job files and containers unless the user named them.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping


def forwarded_variables(patterns: Iterable[str],
                        environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of ``environ`` (default: this process's) whose names match one of
    ``patterns`` (exact names or globs with ``*``, ``?`` and ``[...]``)."""
    environ = os.environ if environ is None else environ
    patterns = [p.strip() for p in patterns if p.strip()]
    exact = {p for p in patterns if not any(c in p for c in "*?[")}
    globs = [p for p in patterns if p not in exact]
    return {name: value for name, value in sorted(environ.items())
            if name in exact or any(fnmatch.fnmatchcase(name, g) for g in globs)}


def declared_forwarding(section: str) -> dict[str, str]:
    """The variables that ``[SECTION] forward_env`` declares, as set here."""
    from law_core.config import get_config

    return forwarded_variables(get_config().get_list(section, "forward_env", default=[]))
