"""law 0.1.21's own tests of ``law.util`` pass against law-core-compat.

The test module comes from law's sdist (fetched with pip once and cached in pytest's cache
directory) and is extracted to a temporary directory: no law code lives in this repository.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

LAW_VERSION = "0.1.21"
COMPAT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def law_sdist(request: pytest.FixtureRequest) -> Path:
    """law's sdist, downloaded by pip into pytest's cache directory on first use."""
    cache = Path(request.config.cache.mkdir("law-sdist"))
    sdist = cache / f"law-{LAW_VERSION}.tar.gz"
    if not sdist.is_file():
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--no-binary", ":all:", f"law=={LAW_VERSION}", "-d", str(cache)],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0 or not sdist.is_file():
            pytest.fail(f"could not fetch the sdist of law {LAW_VERSION} with pip download "
                        f"(exit code {result.returncode}); these tests run law's own "
                        f"tests/test_util.py and need the package index (or put "
                        f"law-{LAW_VERSION}.tar.gz into {cache}):\n{result.stderr}")
    return sdist


def extract_member(sdist: Path, member: str, dest: Path) -> Path:
    with tarfile.open(sdist) as tar:
        info = tar.getmember(f"law-{LAW_VERSION}/{member}")
        data = tar.extractfile(info)
        assert data is not None, f"{member} is no file in {sdist}"
        target = dest / Path(member).name
        target.write_bytes(data.read())
    return target


def test_law_is_the_compat_package(tmp_path: Path) -> None:
    # the subprocess below must test our package, not a real law that happens to be installed
    result = subprocess.run([sys.executable, "-c", "import law; print(law.__file__)"],
                            capture_output=True, text=True, cwd=tmp_path, check=True)
    assert Path(result.stdout.strip()).resolve().is_relative_to(COMPAT_DIR)


def test_law_test_util_passes(law_sdist: Path, tmp_path: Path) -> None:
    test_file = extract_member(law_sdist, "tests/test_util.py", tmp_path)
    report = tmp_path / "report.xml"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), f"--junitxml={report}"],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"law's tests/test_util.py failed:\n{output}"
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    assert counts["tests"] > 0, output
    assert counts == {"tests": counts["tests"], "failures": 0, "errors": 0, "skipped": 0}, output
