"""What imports what inside hf_pipeline, read from the source with ``ast``.

Every import counts: at module level, inside functions, under ``TYPE_CHECKING``, and
``importlib.import_module("...")`` with a literal name. The architecture test checks the
layers with it, and the Space build copies the runtime's import closure with it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "hf_pipeline"
# The pipeline's stages, composition modules and the model folder's write machinery
# (relative to PACKAGE): what the runtime (and a Space built from its closure) must never
# import.
STAGES: tuple[str, ...] = (
    "generate", "verify", "publish", "train", "export", "release", "calibrate", "hub",
    "pipeline", "data_sources", "devset", "base_model", "model_folder.update", "cli",
    "__main__")
PACKAGE_DIR = Path(__file__).resolve().parent


def module_files(package_dir: Path = PACKAGE_DIR, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> source file, for every .py file of the package."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = path
    return out


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, name] if name else base)


def imports_of(path: Path, module: str) -> set[str]:
    """Absolute names of everything ``path`` (the source of ``module``) imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (_resolve_relative(module, is_package, node.level, node.module)
                    if node.level else node.module or "")
            found.add(base)
            # `from pkg import sub` may import the submodule pkg.sub
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return found


def internal_imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package's own modules it imports (names resolved to real modules)."""
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in imports_of(path, name):
            if imported in modules:
                targets.add(imported)
        graph[name] = targets - {name}
    return graph


def external_imports(path: Path, module: str, package: str = PACKAGE) -> set[str]:
    """Top-level names of the third-party and standard modules ``path`` imports."""
    return {name.split(".")[0] for name in imports_of(path, module)
            if name and name.split(".")[0] != package}

