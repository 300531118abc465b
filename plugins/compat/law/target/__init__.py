"""law's targets: law-core's classes, with law's reading of local paths.

law expands ``$VAR`` and ``~`` in local paths (``LocalFileTarget("$DATA_PATH/a.txt")``,
as law's examples write them); law-core expands ``~`` only, so the local targets here
expand variables before handing the path on. Everything else is law-core's.
"""

from __future__ import annotations

from law.target.local import LocalDirectoryTarget, LocalFileSystem, LocalFileTarget, LocalTarget

__all__ = ["LocalFileSystem", "LocalFileTarget", "LocalDirectoryTarget", "LocalTarget"]
