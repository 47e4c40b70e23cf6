"""The README's main job: the demo starts everything itself and routes the sample."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streams.platform.settings import Settings, child_environment

pytestmark = pytest.mark.e2e


def test_demo_routes_the_sample_and_reports(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo"],
        cwd=tmp_path,
        env=child_environment(Settings()),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "contacts completed 14/14" in out
    offers = [line for line in out.splitlines() if "] offer " in line]
    assert len(offers) == 14
    vip = next(line for line in offers if "call-vip-1" in line)
    assert "vip priority" in vip
    aged = next(line for line in offers if "call-std-aged" in line)
    assert "standard priority" in aged and "beat vip" in aged
