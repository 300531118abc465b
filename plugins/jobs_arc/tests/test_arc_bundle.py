"""A workflow on the real A-REX whose jobs use no path of the submitting host.

The analysis lives in a root-owned 0700 directory that the CE's job user ``arcuser`` cannot
enter, and so do the software bundle cache and the job directory. The job gets law-core,
its plugins and the analysis only through the software bundle ``arcsub`` uploads into its
session directory, runs them with the worker's own ``python3`` (Debian's, not the
submitting venv's, whose interpreter lives under ``/root``), and writes its outputs to an
XRootD server. Each output records where the job ran: working directory, ``sys.path``,
interpreter, the files it imported. law-core's example analysis runs the same way.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from law_core.testing import unavailable
from law_core.testing.arc import JOB_USER
from law_core.testing.job_manager import write_tasks

TASKS = """
    import json
    import os
    import sys

    import law_core as law

    from sealed_lib import numbers


    class Sealed(law.Workflow):
        def create_branch_map(self):
            return 2

        def output(self):
            return self.target(f"sealed_{self.branch}.json")

        def run(self):
            import law_core
            import law_core_gfal

            self.output().dump({
                "branch": self.branch, "value": numbers.VALUE, "uid": os.getuid(),
                "cwd": os.getcwd(), "sys_path": sys.path, "executable": sys.executable,
                "version": "%d.%d.%d" % sys.version_info[:3],
                "imported": [law_core.__file__, law_core_gfal.__file__, __file__,
                             numbers.__file__],
            })
"""


@pytest.fixture(scope="module")
def xrootd():
    """An XRootD server on loopback (the fork jobs run on this host and reach it)."""
    if shutil.which("xrootd") is None:
        unavailable("needs an XRootD server (Debian package xrootd-server)")
    try:
        import gfal2  # noqa: F401
    except ImportError:
        unavailable("needs gfal2's Python bindings (Debian python3-gfal2)")
    from law_core.testing.services import xrootd_server

    root = tempfile.mkdtemp(prefix="law-core-arc-xrootd-")
    os.chmod(root, 0o755)  # the server runs as nobody
    try:
        with xrootd_server(root) as url:
            yield url.server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def sealed(tmp_path_factory):
    """A directory only root may enter."""
    path = Path(tempfile.mkdtemp(prefix="law-core-arc-sealed-"))  # 0700, root's
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _readable_by_job_user(path: Path) -> bool:
    return subprocess.run(["runuser", "-u", JOB_USER, "--", "test", "-r", str(path)],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("via_store", [False, True], ids=["input-file", "bundle-store"])
def test_jobs_carry_their_software_and_use_no_path_of_the_submitting_host(
        arc_fork_ce, xrootd, sealed, via_store):
    """The bundle travels as an input file of each job, or (``[job] bundle_store``) the
    jobs fetch it from the XRootD server."""
    worker_python = shutil.which("python3", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if worker_python is None:
        unavailable("no system python3 to play the worker's Python")
    version = subprocess.run([worker_python, "-c", "import sys; print('%d.%d' % "
                              "sys.version_info[:2])"], capture_output=True,
                             text=True).stdout.strip()
    if version != "{}.{}".format(*sys.version_info[:2]):
        unavailable(f"the worker's {worker_python} is Python {version}, this one is not")
    ana = sealed / "analysis"
    ana.mkdir()
    write_tasks(ana, "sealed_ana", TASKS)
    (ana / "sealed_lib").mkdir()
    (ana / "sealed_lib" / "__init__.py").write_text("")
    (ana / "sealed_lib" / "numbers.py").write_text("VALUE = 42\n")
    unique = uuid.uuid4().hex[:8]
    store = f"{xrootd.url}arc-bundle/{unique}"
    # cryptography (a binary wheel, abi3): law-core-gfal reads proxies with it; named here
    # because an editable install's metadata may predate that requirement
    bundles = f"{xrootd.url}arc-bundles"
    (ana / "law.cfg").write_text(f"[target]\nstore = {store}\n"
                                 f"[job]\nbundle_cache = {sealed / 'cache'}\n"
                                 "bundle_include = cryptography\n"
                                 + (f"bundle_store = {bundles}\n" if via_store else ""))
    assert not _readable_by_job_user(ana / "sealed_ana.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    # the CE and credentials; no [arc] python: the jobs take python3 from the worker's PATH
    env.update(arc_fork_ce.env, LAW_CORE__ARC__CE=arc_fork_ce.url, PYTHONPATH=str(ana))
    result = subprocess.run(
        [sys.executable, "-m", "law_core", "run", "sealed_ana.Sealed", "--workflow", "arc",
         "--poll-interval", "0.5s", "--tasks-per-job", "1", "--retries", "0"],
        cwd=ana, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "software bundle" in result.stderr
    # the outputs are on the XRootD server
    outputs = sorted((xrootd.data / "arc-bundle" / unique).glob("Sealed/sealed_*.json"))
    assert [p.name for p in outputs] == ["sealed_0.json", "sealed_1.json"]
    (job_dir,) = (ana / "data" / "Sealed" / "jobs").iterdir()
    (bundle,) = (sealed / "cache").glob("law-core-bundle-*.tar.gz")
    in_job_dir = list(job_dir.glob("law-core-bundle-*.tar.gz"))
    assert in_job_dir == ([] if via_store else [job_dir / bundle.name])
    assert (xrootd.data / "arc-bundles" / bundle.name).exists() == via_store
    submit_side = [str(sealed), sys.prefix, sys.base_prefix, "/root",
                   str(Path(__file__).resolve().parents[3])]  # the law-core checkout
    session = arc_fork_ce.base / "session"
    for path in outputs:
        seen = json.loads(path.read_text())
        assert seen["value"] == 42
        assert seen["uid"] == pwd.getpwnam(JOB_USER).pw_uid != os.getuid()
        assert os.path.realpath(seen["executable"]) == os.path.realpath(worker_python)
        assert seen["version"].startswith(version + ".")
        used = [seen["cwd"], seen["executable"], *seen["sys_path"], *seen["imported"]]
        leaked = [p for p in used if p and any(p.startswith(s) for s in submit_side)]
        assert leaked == [], leaked
        # law-core, the gfal plugin and the analysis came from the unpacked bundle
        bundle_dirs = {str(Path(p).parent.parent) for p in seen["imported"][:2]}
        assert len(bundle_dirs) == 1 and (bundle_dirs.pop() + "/sealed_ana.py") == \
            seen["imported"][2]
        assert not seen["cwd"].startswith(str(ana))
    # the job description uploads the bundle; no proxy, no submit-side Python in the job files
    (xrsl,) = (job_dir / "arc").glob("batch_*.xrsl")
    assert (f'("{bundle.name}" "{job_dir / bundle.name}")' in xrsl.read_text()) != via_store
    env_file = (job_dir / "job_env.sh").read_text()
    assert str(sealed) not in env_file and sys.prefix not in env_file
    assert session.exists()


EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "analysis.py"


def test_example_analysis_on_arc_with_every_output_on_xrootd(arc_fork_ce, xrootd, sealed):
    """law-core's example analysis, its letters as ARC jobs (from a directory the jobs'
    user cannot enter), every output on the XRootD server."""
    if not EXAMPLE.exists():
        unavailable("the example analysis is not in this checkout")
    ana = sealed / "example"
    ana.mkdir()
    shutil.copy(EXAMPLE, ana / "analysis.py")
    store = f"{xrootd.url}arc-example/{uuid.uuid4().hex[:8]}"
    (ana / "law.cfg").write_text(
        f"[modules]\nanalysis\n\n[target]\nstore = {store}\n\n"
        f"[job]\nbundle_cache = {sealed / 'cache'}\nbundle_include = cryptography\n\n"
        "[workflow]\nCreateChars = arc\n\n[CreateChars]\ntasks_per_job = 13\n"
        "poll_interval = 0.5s\nretries = 0\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env.update(arc_fork_ce.env, LAW_CORE__ARC__CE=arc_fork_ce.url, PYTHONPATH=str(ana))
    result = subprocess.run([sys.executable, "-m", "law_core", "run", "analysis.Summary"],
                            cwd=ana, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    base = next((xrootd.data / "arc-example").iterdir())
    letters = sorted(base.glob("CreateChars/output_*.json"))
    assert len(letters) == 26
    assert (base / "CreateAlphabet" / "alphabet.txt").read_text() == \
        "abcdefghijklmnopqrstuvwxyz\n"
    assert json.loads((base / "Summary" / "summary.json").read_text())["letters"] == 26
    (job_dir,) = (ana / "data" / "CreateChars" / "jobs").iterdir()
    submission = json.loads((job_dir / "submission.json").read_text())
    assert [job["status"] for job in submission["jobs"].values()] == ["finished"] * 2
    assert all("/rest/1.0/jobs/" in job["job_id"] for job in submission["jobs"].values())
