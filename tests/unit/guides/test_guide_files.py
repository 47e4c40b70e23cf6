"""Guide files: every shipped one loads; a broken one stops the start naming file and step."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from streams.guides.definitions import GUIDES_DIR, SCHEMA_FILE, GuideFileError, load_guides

BROKEN = {
    "unknown data": ("shows: [profile, tier]", "shows: [profile, shoe_size]", "verify_identity"),
    "precondition on a later step": (
        "requires: [verify_identity]\n    branches",
        "requires: [change_address]\n    branches",
        "check_arrears",
    ),
    "branch to an earlier step": ("none: change_address", "none: verify_identity", "check_arrears"),
    "branch on an impossible answer": (
        "small: change_address",
        "tiny: change_address",
        "check_arrears",
    ),
}


def test_the_shipped_guides_load() -> None:
    ids = {g.guide_id for g in load_guides()}
    assert {"address_change", "delivery_delay"} <= ids


@pytest.mark.parametrize("fault", sorted(BROKEN))
def test_a_broken_guide_names_its_file_and_step(fault: str, tmp_path: Path) -> None:
    old, new, step = BROKEN[fault]
    shutil.copy(GUIDES_DIR / SCHEMA_FILE, tmp_path / SCHEMA_FILE)
    text = (GUIDES_DIR / "address_change.yaml").read_text()
    assert old in text
    (tmp_path / "address_change.yaml").write_text(text.replace(old, new, 1))
    with pytest.raises(GuideFileError) as error:
        load_guides(tmp_path)
    assert str(error.value).startswith(f"address_change.yaml: step {step!r}")


def test_a_guide_id_used_twice_is_refused(tmp_path: Path) -> None:
    shutil.copy(GUIDES_DIR / SCHEMA_FILE, tmp_path / SCHEMA_FILE)
    for name in ("a.yaml", "b.yaml"):
        shutil.copy(GUIDES_DIR / "delivery_delay.yaml", tmp_path / name)
    with pytest.raises(GuideFileError, match=r"b\.yaml: guide id 'delivery_delay' used twice"):
        load_guides(tmp_path)
