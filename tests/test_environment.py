"""What the suite needs from the machine: a third party's deprecation notice does not fail it
(ours does), the browser tests are skipped when Chromium cannot run, and the README names the
system packages the Makefile installs."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from e2e.server import chromium_installed

ROOT = Path(__file__).parent.parent


def warn_from(module: str) -> None:
    warnings.warn_explicit("x will be removed", DeprecationWarning, "x.py", 1, module=module)


@pytest.mark.parametrize("module", ["weasyprint.text.ffi", "flask_admin.form", "wtforms"])
def test_a_third_partys_deprecation_notice_does_not_fail_the_suite(module):
    warn_from(module)


@pytest.mark.parametrize(
    "module", ["app", "iku_admin", "iku_admin.views.base", "models.dossier", "test_fuzz",
               "conftest", "e2e.test_forms", "bench.load"],
)  # fmt: skip
def test_a_deprecation_in_our_code_fails_the_suite(module):
    with pytest.raises(DeprecationWarning):
        warn_from(module)
    with pytest.raises(DeprecationWarning):
        warnings.warn("old API", DeprecationWarning, stacklevel=1)  # from this module


def test_browser_tests_need_an_executable_chromium(tmp_path):
    path = tmp_path / "chromium"
    assert not chromium_installed(str(path))  # absent
    path.write_bytes(b"")  # present but hidden (an empty file bound over it), or not runnable
    path.chmod(0o600)
    assert not chromium_installed(str(path))
    path.chmod(0o755)
    assert chromium_installed(str(path))
    assert not chromium_installed(str(tmp_path))  # a directory is not a browser


def test_the_readme_names_the_system_packages_the_makefile_checks():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    packages = re.search(r"^SYSTEM_PACKAGES := (.*)$", makefile, re.M).group(1).split()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"apt-get install {' '.join(packages)}" in readme
