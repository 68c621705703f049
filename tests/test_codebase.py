"""The code base itself: lint-clean and type-checked."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "concise", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.second_pass  # 45-70 s in CI, where the SQLite pass ends a minute after the other
def test_mypy_finds_nothing():
    """The code, its tests and its tools type-check with the settings of pyproject.toml (`[tool.mypy]`)."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def imported_modules(path: Path) -> set[str]:
    """The dotted names `path` imports (relative imports resolved), including `from pkg import name`."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def domains_imported(paths: list[Path], own: str | None = None) -> set[str]:
    """The domain modules (`app.modules.<name>`) that `paths` import, other than `own`."""
    return {
        name.split(".")[2]
        for path in paths
        for name in imported_modules(path)
        if name.startswith("app.modules.") and name.split(".")[2] != own
    } - {"LAYERS"}


def test_domain_modules_import_only_the_layers_below_their_own():
    """The layering that app/modules/__init__.py states; only the conversation layer imports itself."""
    from app.modules import LAYERS
    from config import BaseConfig

    layer = {name: index for index, names in enumerate(LAYERS) for name in names}
    conversation = layer["rooms"]
    domains = sorted(path.parent.name for path in (ROOT / "app/modules").glob("*/__init__.py"))
    assert set(domains) <= set(layer), "place every new module in app.modules.LAYERS"
    assert set(BaseConfig.ENABLED_MODULES) <= set(layer)
    wrong = {
        f"{domain} -> {other}"
        for domain in domains
        for other in domains_imported(sorted((ROOT / "app/modules" / domain).rglob("*.py")), domain)
        if layer[other] > layer[domain] or (layer[other] == layer[domain] != conversation)
    }
    assert not wrong, "a lower module learns of a higher one through signals or registrations"
    resources = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "app/modules").rglob("*.py")
        for name in imported_modules(path)
        if re.match(r"app\.modules\.\w+\.resources\b", name) and path.parent.name != name.split(".")[2]
    }
    assert not resources, "a module uses another's services, never its resources"
    assert domains_imported(sorted((ROOT / "app/modules/users").rglob("*.py")), "users") == set()
    assert domains_imported(sorted((ROOT / "app/extensions").rglob("*.py"))) == set()


def test_schemas_do_no_io_and_read_no_request_state():
    """What a client sees is the schema's: it dumps what it is given, for the viewer it is given
    (`app.extensions.schemas.viewer`), and asks no service, database, Redis or request."""
    request_state = ("flask.request", "flask.g", "flask.session", "app.extensions.auth")
    io = ("app.extensions.database", "app.extensions.redis")
    impure = re.compile(r"app\.modules\.\w+\.(?!(schemas|models|permissions)\b)")  # services, presence…
    for path in sorted((ROOT / "app/modules").glob("*/schemas.py")):
        reads = {
            name
            for name in imported_modules(path)
            if name.startswith(request_state + io) or impure.match(name)
        }
        assert not reads, f"{path.relative_to(ROOT)} imports {sorted(reads)}"


def test_importing_the_modules_registers_no_session_hook():
    """Session hooks are registered by the enabled modules' `init_app`, not as a side effect of an import."""
    code = (
        "import importlib, pkgutil; from sqlalchemy.orm import Session; import app.modules as m\n"
        "for info in pkgutil.walk_packages(m.__path__, 'app.modules.'): importlib.import_module(info.name)\n"
        "print(sum(len(getattr(Session().dispatch, hook)) for hook in"
        " ('before_commit', 'after_commit', 'after_rollback')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "0"
