"""A workflow's status on the real XRootD server: from the pattern of its output paths
(``law_core.workflow.branch_outputs``), one listing per directory, the same count as
each branch's own output asked on its own."""

from __future__ import annotations

import shutil
import uuid

import law_core as law
from law_core.config import get_config
from law_core.testing.services import XRootDServer


class Spread(law.LocalWorkflow):
    """Outputs in a directory per ten branches, on the store of ``[target] store``."""

    def create_branch_map(self):
        return list(range(45))

    def output(self):
        return self.target(f"d{self.branch // 10}/out_{self.branch:03d}.json")


def test_status_of_remote_outputs_from_their_pattern(xrootd: XRootDServer) -> None:
    sub = f"pattern/{uuid.uuid4().hex[:8]}"
    get_config().override("target", "store", f"{xrootd.url}{sub}", "test")
    present = {0, 9, 10, 11, 23, 44}
    for branch in present:  # written on the server's side, as a job elsewhere would
        path = xrootd.data / sub / "Spread" / f"d{branch // 10}" / f"out_{branch:03d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    xrootd.chown()
    try:
        workflow = Spread()
        collection = workflow.output()["collection"]
        assert collection.targets.located_names() is not None  # the pattern was taken
        assert collection.count() == (len(present), 45)
        truth = {b for b in range(45) if Spread(branch=b).output().exists()}
        assert truth == present == collection.existing_keys()
        # a branch's own output, built when asked for, is the one the pattern located
        assert collection[23].exists() and not collection[24].exists()
        assert collection[23].uri().endswith(f"/{sub}/Spread/d2/out_023.json")
    finally:
        shutil.rmtree(xrootd.data / "pattern", ignore_errors=True)
