"""The example analysis on a STAND-IN HTCondor pool in file transfer mode, sharing no path
with the submitting host.

HTCondor's daemons cannot be installed here; the stand-in pool (conftest.py) plays an
execute point of another UID domain: as HTCondor documents for that case, each job runs as
``nobody`` in a fresh scratch directory below the pool's ``EXECUTE`` directory, holding
only the files ``transfer_input_files`` named, and ``transfer_output_files`` come back when
it exits. The analysis, the bundle cache and the job directories lie in a root-owned 0700
directory that ``nobody`` cannot enter; law-core, its plugins and the analysis reach the job
only through the software bundle, run by the system's ``python3`` (not the submitting venv's,
whose interpreter lives under ``/root``), and every output goes to an XRootD server.
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

CHECKOUT = Path(__file__).resolve().parents[3]
EXAMPLE = CHECKOUT / "examples" / "analysis.py"
JOB_USER = "nobody"  # HTCondor's user for jobs of another UID domain

#: appended to a copy of the example analysis: each letter's job also records where it ran
#: (a second output on the store), and whether it could read the submitting directory
RECORDER = '''

_SUBMIT_DIR = {submit_dir!r}
_create_chars_run = CreateChars.run


def _run_and_record(self):
    _create_chars_run(self)
    import os
    import sys

    import law_core
    import law_core_gfal

    self.target(f"where_{{self.branch}}.json").dump({{
        "uid": os.getuid(), "cwd": os.getcwd(), "sys_path": sys.path,
        "executable": sys.executable, "scratch": os.environ.get("_CONDOR_SCRATCH_DIR"),
        "imported": [law_core.__file__, law_core_gfal.__file__, __file__],
        "submit_dir_readable": os.access(_SUBMIT_DIR, os.R_OK),
        "submit_dir_exists_for_job": os.path.exists(os.path.join(_SUBMIT_DIR, "law.cfg")),
    }})


CreateChars.run = _run_and_record
'''


@pytest.fixture
def sealed():
    """A directory only root may enter (``mkdtemp`` makes it 0700)."""
    path = Path(tempfile.mkdtemp(prefix="law-core-htcondor-sealed-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def execute_dir():
    """The stand-in pool's ``EXECUTE`` directory, outside every submit-side tree."""
    path = Path(tempfile.mkdtemp(prefix="law-core-htcondor-execute-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _worker_python() -> str:
    python = shutil.which("python3", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if python is None:
        unavailable("no system python3 to play the worker's Python")
    version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if version != "{}.{}".format(*sys.version_info[:2]):
        unavailable(f"the worker's {python} is Python {version}, this one is not")
    return python


def test_example_analysis_in_file_transfer_mode_uses_no_path_of_the_submitting_host(
        condor, law_core_xrootd_server, sealed, execute_dir):
    """``--workflow htcondor --htcondor-file-transfer true``: the 26 letters as jobs, every
    output on XRootD, each job running as ``nobody`` from its scratch directory and the
    unpacked bundle; a second run finds everything complete and submits nothing."""
    if os.getuid() != 0:
        unavailable("the stand-in runs jobs as another user only when it runs as root")
    if not EXAMPLE.exists():
        unavailable("the example analysis is not in this checkout")
    try:
        import gfal2  # noqa: F401
    except ImportError:
        unavailable("needs gfal2's Python bindings (Debian python3-gfal2)")
    worker_python = _worker_python()
    xrootd = law_core_xrootd_server
    ana = sealed / "example"
    ana.mkdir()
    (ana / "analysis.py").write_text(EXAMPLE.read_text() + RECORDER.format(submit_dir=str(ana)))
    unique = uuid.uuid4().hex[:8]
    # cryptography (a binary wheel, abi3): law-core-gfal reads proxies with it; named here
    # because an editable install's metadata may predate that requirement
    (ana / "law.cfg").write_text(
        f"[modules]\nanalysis\n\n[target]\nstore = {xrootd}htcondor-example/{unique}\n\n"
        f"[job]\nbundle_cache = {sealed / 'cache'}\nbundle_include = cryptography\n\n"
        "[workflow]\nCreateChars = htcondor\n\n[htcondor]\nfile_transfer = true\n\n"
        "[CreateChars]\ntasks_per_job = 13\npoll_interval = 0.5s\nretries = 0\n")
    assert subprocess.run(["runuser", "-u", JOB_USER, "--", "test", "-r", str(ana)],
                          capture_output=True).returncode != 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    # an execute point of another UID domain: jobs run as nobody, below execute_dir
    env.update(condor.env, PYTHONPATH=str(ana), _CONDOR_EXECUTE=str(execute_dir),
               _CONDOR_UID_DOMAIN="submit.standin", CONDOR_STANDIN_SLOTS="2",
               CONDOR_STANDIN_EXECUTE_UID_DOMAIN="worker.standin")

    def law_core(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "law_core", "run", *args], cwd=ana,
                              env=env, capture_output=True, text=True, timeout=600)

    result = law_core("analysis.CreateChars", "--workflow", "htcondor",
                      "--htcondor-file-transfer", "true")
    assert result.returncode == 0, result.stderr[-4000:]
    assert "software bundle" in result.stderr
    result = law_core("analysis.Summary")
    assert result.returncode == 0, result.stderr[-4000:]
    submits = condor.calls("condor_submit")
    assert len(submits) == 1  # one batch of 2 jobs; the Summary run found the letters done

    base = xrootd.server.data / "htcondor-example" / unique
    letters = sorted(base.glob("CreateChars/output_*.json"))
    assert len(letters) == 26
    assert json.loads((base / "CreateChars" / "output_25.json").read_text())["char"] == "z"
    assert (base / "CreateAlphabet" / "alphabet.txt").read_text() == \
        "abcdefghijklmnopqrstuvwxyz\n"
    assert json.loads((base / "Summary" / "summary.json").read_text())["letters"] == 26
    assert not (ana / "data" / "CreateChars" / "output_0.json").exists()

    (job_dir,) = (ana / "data" / "CreateChars" / "jobs").iterdir()
    submission = json.loads((job_dir / "submission.json").read_text())
    assert [job["status"] for job in submission["jobs"].values()] == ["finished"] * 2
    description = (job_dir / "batch_1_1.jdl").read_text()
    assert "should_transfer_files = YES\n" in description
    assert "transfer_output_files = status\n" in description
    assert str(ana) not in (job_dir / "job_env.sh").read_text()
    assert sys.prefix not in (job_dir / "job_env.sh").read_text()

    submit_side = [str(sealed), sys.prefix, sys.base_prefix, "/root", str(CHECKOUT)]
    nobody = pwd.getpwnam(JOB_USER).pw_uid
    scratches = set()
    for branch in range(26):
        seen = json.loads((base / "CreateChars" / f"where_{branch}.json").read_text())
        assert seen["uid"] == nobody != os.getuid()
        assert not seen["submit_dir_readable"] and not seen["submit_dir_exists_for_job"]
        # the job ran in the stand-in's scratch directory, below EXECUTE
        scratch = seen["scratch"]
        assert Path(scratch).parent == execute_dir and Path(scratch).name.startswith("dir_")
        assert (seen["cwd"] + "/").startswith(scratch + "/")  # the wrapper's own dir in it
        assert os.path.realpath(seen["executable"]) == os.path.realpath(worker_python)
        used = [seen["cwd"], seen["executable"], *seen["sys_path"], *seen["imported"]]
        leaked = [p for p in used if p and any(p.startswith(s) for s in submit_side)]
        assert leaked == [], leaked
        # law-core, the gfal plugin and the analysis came from the bundle unpacked there
        bundle_dirs = {str(Path(p).parent.parent) for p in seen["imported"][:2]}
        assert len(bundle_dirs) == 1
        bundle_dir = bundle_dirs.pop()
        assert bundle_dir.startswith(scratch + "/")
        assert seen["imported"][2] == bundle_dir + "/analysis.py"
        assert seen["sys_path"][0].startswith(scratch + "/")
        scratches.add(scratch)
    assert len(scratches) == 2  # one per job (13 letters each)

    # a second run: complete, nothing submitted
    result = law_core("analysis.Summary")
    assert result.returncode == 0, result.stderr[-4000:]
    assert len(condor.calls("condor_submit")) == 1
