"""The reference job manager: each job a detached process on this machine.

``--workflow processes`` runs every job as a local process in a session of its own, so
that law-core's remote-job machinery (job files, bookkeeping, retries, ``--parallel-jobs``,
restart after a kill, cancel) is tested with no batch system at all: the core's own tests
run :class:`~law_core.testing.JobManagerSuite` against it. It is also the model of a
job-manager plugin, laid out as one:

- :mod:`.plugin`: the entry-point module, cheap to import: the ``law_core_job_managers``
  hook returning the :class:`~law_core.plugin.JobManagerRecord`;
- :mod:`.settings`: the options declared once (:class:`~.settings.ProcessSettings`), in a
  module of their own as the core reads them while it builds the workflow class;
- :mod:`.manager`: the four primitives, submit, query, cancel and recover, on what this
  "batch system" can observe (:class:`~.manager.ProcessJobManager`).

It is not for users (jobs on one machine are what ``--workflow local`` is for), so the core
does not register it. Tests make it discoverable with :func:`install_entry_point`, or the
``law_core_reference_jobs`` pytest fixture, which also gives each test a spool of its own.
Nothing here imports more than the standard library: the entry-point module is imported by
every ``law-core`` command of a process that sees it.
"""

from __future__ import annotations

from pathlib import Path

#: the name of ``--workflow NAME`` and of the config section ``[processes]``
NAME = "processes"
#: the distribution :func:`install_entry_point` declares
DISTRIBUTION = "law-core-reference-jobs"

_METADATA = f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: 0\n"
_ENTRY_POINTS = "[law_core.plugins]\nreference_jobs = law_core.testing.reference_jobs.plugin\n"


def install_entry_point(directory: Path) -> Path:
    """Declare the reference job manager as a law-core plugin for every process that has
    ``directory`` on its path (``sys.path``, or ``PYTHONPATH`` of a subprocess).

    It writes a minimal distribution's metadata (``METADATA`` and ``entry_points.txt`` in
    a ``.dist-info`` directory), which is all :mod:`importlib.metadata` needs to find the
    entry point: nothing is installed into an environment. Returns ``directory``."""
    dist_info = Path(directory) / f"{DISTRIBUTION.replace('-', '_')}-0.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(_METADATA)
    (dist_info / "entry_points.txt").write_text(_ENTRY_POINTS)
    return Path(directory)


class ReferenceJobs:
    """The reference job manager's "batch system" as a test sees it: its spool, the
    environment that makes ``law-core`` subprocesses find the plugin and use that spool
    (``env``), and what the spool knows."""

    def __init__(self, path: Path, spool: Path):
        self.path = Path(path)
        self.spool = Path(spool)
        self.env = {"PYTHONPATH": str(self.path),
                    f"LAW_CORE__{NAME.upper()}__SPOOL": str(self.spool)}

    def jobs(self) -> list[dict]:
        """Every job of the spool, oldest first: what was submitted (``name``,
        ``job_dir``, ``command``) with its ``id`` and whether it is ``active``."""
        from law_core.testing.reference_jobs.manager import holds_lock, spooled

        return [{**info, "id": job_id, "active": holds_lock(self.spool / job_id)}
                for job_id, info in spooled(self.spool)]

    def stop(self) -> None:
        """Kill every job still active (what a test left running)."""
        import os
        import signal

        for job in self.jobs():
            pid_file = self.spool / job["id"] / "pid"
            if job["active"] and pid_file.exists():
                try:
                    os.killpg(int(pid_file.read_text()), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
