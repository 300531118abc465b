"""The options of law-core-glite, declared once: ``--glite-<option>`` parameters of every
workflow, the ``[glite]`` config section, and their defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from law_core.plugin import Settings, option


@dataclass(frozen=True)
class GLiteSettings(Settings):
    section: ClassVar[str] = "glite"

    ce: str = option("", "CREAM CE to submit to, HOST[:PORT]/cream-BATCHSYSTEM-QUEUE "
                     "(glite-ce-job-submit -r)")
    delegation_id: str = option("", "id of a proxy you delegated to the CE with "
                                "glite-ce-delegate-proxy; empty: law-core delegates once per "
                                "run; 'auto': every submission delegates (-a)")
    vo: str = option("", "VirtualOrganisation of the jobs; empty: the one of your proxy")
    output_uri: str = option("", "GridFTP URI of this host under which the jobs' output "
                             "sandboxes (exit status, logs) reach the job directories; "
                             "empty: gsiftp://<this host's name>", parameter=False)
    retry_count: int = option(0, "RetryCount and ShallowRetryCount of the JDL (resubmission "
                              "by the grid middleware; law-core's --retries resubmits itself)",
                              parameter=False)
    extra_lines: str = option("", "more JDL attributes, one 'Name = value;' per line",
                              parameter=False)
