"""The arrows run one way: schemas ← streams ← services; pure cores import no I/O; no import
cycles. Read from the source with ``ast`` (imports inside functions count for direction)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "streams", "services")
IO_LIBRARIES = frozenset(
    {"faust", "aiokafka", "asyncpg", "twilio", "aiosmtplib", "aiosmtpd", "aiohttp"}
    | {"prometheus_client", "socket", "subprocess"}
)
ALL: dict[str, Path] = {}
PURE_CORES = {
    # module prefix → project modules it may import
    "streams.routing.domain": ("streams.routing.domain",),
    "streams.simulation": ("streams.routing.domain", "streams.simulation"),
    "streams.notices.delays": ("schemas", "streams.notices.policy"),
    "streams.notices.policy": ("schemas",),
    "streams.guides.domain": ("streams.guides.domain",),
    "streams.surveys.rules": ("streams.notices.policy",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


ALL.update(modules())


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str, path: Path, *, top_level_only: bool) -> Iterator[str]:
    """Absolute names of what a module imports (``from a import b`` gives ``a.b`` when that
    is a module, else ``a``)."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]

    def visit(nodes: list[ast.stmt]) -> Iterator[str]:
        for node in nodes:
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:  # a submodule, else a name defined in ``base``
                    submodule = f"{base}.{alias.name}"
                    yield submodule if submodule in ALL else base
            elif isinstance(node, ast.If) and _is_type_checking(node):
                continue  # for the type checker only
            elif top_level_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue  # runs later, when called
            else:
                for field in ("body", "orelse", "finalbody"):
                    children = getattr(node, field, None)
                    if isinstance(children, list):
                        yield from visit([c for c in children if isinstance(c, ast.stmt)])
                if isinstance(node, ast.Try):
                    for handler in node.handlers:
                        yield from visit(handler.body)

    tree = ast.parse(path.read_text(), str(path))
    yield from visit(tree.body)


def project_imports(module: str, path: Path, *, top_level_only: bool) -> set[str]:
    return {name for name in imports(module, path, top_level_only=top_level_only) if name in ALL}


@pytest.mark.parametrize("module", sorted(ALL))
def test_imports_run_one_way(module: str) -> None:
    layer = PACKAGES.index(module.split(".")[0])
    upward = sorted(
        name
        for name in project_imports(module, ALL[module], top_level_only=False)
        if PACKAGES.index(name.split(".")[0]) > layer
    )
    assert not upward, f"{module} imports {upward}: schemas ← streams ← services only"


@pytest.mark.parametrize("core", sorted(PURE_CORES))
def test_pure_cores_import_no_io_and_nothing_outside_their_core(core: str) -> None:
    allowed = PURE_CORES[core]
    members = [m for m in ALL if m == core or m.startswith(core + ".")]
    assert members, core
    for module in members:
        for name in imports(module, ALL[module], top_level_only=False):
            root = name.split(".")[0]
            assert root not in IO_LIBRARIES, f"{module} imports {name} (I/O in a pure core)"
            if root in PACKAGES:
                assert name.startswith(allowed), f"{module} imports {name} outside {allowed}"


def test_no_import_cycles() -> None:
    graph = {
        module: project_imports(module, path, top_level_only=True) - {module}
        for module, path in ALL.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for name in sorted(graph[module]):
            if state.get(name) == 1:
                cycle = [*stack[stack.index(name) :], name]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if name not in state:
                visit(name)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
