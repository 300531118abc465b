"""law-core's pytest plugin: its service fixtures are there for plugin authors, and skip
with the reason only where a service's binaries are missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_fixtures_are_registered_through_the_entry_point(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pytest", "--fixtures", "-p",
                             "no:cacheprovider", "-c", "/dev/null", str(tmp_path)],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "law_core.testing.pytest_plugin" in result.stdout
    for name in ("law_core_slurm_cluster", "law_core_xrootd_server", "law_core_docker_image",
                 "law_core_isolated"):
        assert name in result.stdout


def test_missing_service_binaries_skip_with_the_reason(tmp_path):
    (tmp_path / "test_skip.py").write_text(textwrap.dedent("""
        def test_needs_slurm(law_core_slurm_cluster):
            pass
    """))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p",
                             "no:cacheprovider", "-c", "/dev/null", str(tmp_path)],
                            cwd=tmp_path, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                 "LAW_CORE_SERVICE_PATH": str(tmp_path)})
    assert "1 skipped" in result.stdout, result.stdout + result.stderr
    assert "a Slurm cluster needs munged" in result.stdout
    assert "slurm-wlm munge" in result.stdout

    required = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "-c", "/dev/null", str(tmp_path)], cwd=tmp_path,
                              capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                   "LAW_CORE_SERVICE_PATH": str(tmp_path),
                                   "LAW_CORE_REQUIRE_SERVICES": "1"})
    assert required.returncode != 0 and "1 error" in required.stdout
