"""What the README and docs/ name exists: every path in the repository, every test a claim
cites (file and test function), every `contactcenter` command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FOLDERS = "services|streams|schemas|deploy|docs|tests|scripts|bench|\\.ci"
PATH = re.compile(rf"(?<![\w/.-])((?:{FOLDERS})/[\w./*-]*[\w*])")
TEST = re.compile(r"(?<![\w])(?:[\w/]*/)?(test_\w+\.py)(?:::(\w+))?")
COMMAND = re.compile(r"(?<![\w/-])contactcenter ([a-z][a-z-]*)")
TEST_FILES = {p.name: p for p in ROOT.glob("tests/**/test_*.py")}


def _named(pattern: re.Pattern[str]) -> list[tuple[str, re.Match[str]]]:
    return [(doc.name, m) for doc in DOCS for m in pattern.finditer(doc.read_text())]


@pytest.mark.parametrize("doc", [d.relative_to(ROOT).as_posix() for d in DOCS])
def test_every_path_a_doc_names_exists(doc: str) -> None:
    missing = sorted(
        {
            m.group(1)
            for m in PATH.finditer((ROOT / doc).read_text())
            if not (
                list(ROOT.glob(m.group(1))) if "*" in m.group(1) else (ROOT / m.group(1)).exists()
            )
        }
    )
    assert not missing, f"{doc} names paths that do not exist: {missing}"


def test_every_test_a_doc_cites_exists() -> None:
    missing = []
    for doc, m in _named(TEST):
        name, function = m.group(1), m.group(2)
        path = TEST_FILES.get(name)
        if path is None:
            missing.append(f"{doc}: {name}")
        elif function and not re.search(rf"\bdef {function}\b", path.read_text()):
            missing.append(f"{doc}: {name}::{function}")
    assert not missing, missing


def test_every_command_a_doc_names_exists() -> None:
    missing = sorted(
        {f"{doc}: {m.group(1)}" for doc, m in _named(COMMAND) if m.group(1) not in COMMANDS}
    )
    assert not missing, missing


LINK = re.compile(r"\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.*)$", page.read_text(), re.M)}


def test_every_link_between_the_docs_lands_on_a_page_and_a_heading() -> None:
    broken = []
    for doc in DOCS:
        for m in LINK.finditer(doc.read_text()):
            target = m.group(1)
            if re.match(r"^[a-z]+:", target):
                continue  # a URL
            path, _, anchor = target.partition("#")
            page = (doc.parent / path).resolve() if path else doc
            if not page.exists():
                broken.append(f"{doc.name}: {target}")
            elif anchor and page.suffix == ".md" and anchor not in _anchors(page):
                broken.append(f"{doc.name}: {target} (no such heading)")
    assert not broken, broken
