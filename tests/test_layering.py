"""Layering rules of DESIGN.md, checked on the real modules."""
import ast
import pathlib
import subprocess
import sys

PKG = pathlib.Path(__file__).resolve().parents[1] / "fleettui"


def _modules(sub: str = ""):
    for path in sorted((PKG / sub).rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree: ast.AST, path: pathlib.Path | None = None):
    """Every module a file imports, anywhere in it: ``from a import b`` yields ``a`` and ``a.b`` (b may be a
    module); relative imports are resolved against ``path``'s package."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level and path is not None:
                package = ("fleettui", *path.relative_to(PKG).parent.parts)
                base = ".".join(package[:len(package) - node.level + 1])
                module = f"{base}.{module}" if module else base
            if module:
                yield module
                yield from (f"{module}.{a.name}" for a in node.names)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_no_module_outside_ui_imports_textual():
    offenders = [str(p.relative_to(PKG)) for p, tree in _modules()
                 if "ui" not in p.relative_to(PKG).parts[:1]
                 and any(m == "textual" or m.startswith("textual.") for m in _imports(tree))]
    assert offenders == []


def test_non_ui_modules_import_without_textual():
    """Like harlequin: import every non-UI module in a fresh interpreter and check textual stayed out."""
    mods = sorted({".".join(("fleettui", *p.relative_to(PKG).with_suffix("").parts)).removesuffix(".__init__")
                   for p, _ in _modules() if p.relative_to(PKG).parts[0] != "ui" and p.name != "__main__.py"})
    code = "import sys\n" + "".join(f"import {m}\n" for m in mods) + "print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_domain_is_pure():
    banned = ("aiobotocore", "botocore", "boto3", "textual", "asyncio", "socket", "requests", "fleettui.aws",
              "fleettui.actions", "fleettui.ui")
    offenders = [(str(p.relative_to(PKG)), m) for p, tree in _modules("domain") for m in _imports(tree)
                 if any(m == b or m.startswith(b + ".") for b in banned)]
    assert offenders == []


def _imported_names(path: pathlib.Path, tree: ast.AST):
    """Every name imported, absolute: relative imports resolved, `from a import b` as "a.b"."""
    package = ("fleettui", *path.relative_to(PKG).parent.parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(filter(None, (*package[:len(package) - node.level + 1], node.module)))
            yield from (f"{base}.{a.name}" for a in node.names)


def test_config_imports_only_stdlib_paths_and_errors():
    """config is the bottom layer: nothing from fleettui.domain / aws / actions / ui / cli (nor anything else of
    fleettui but paths and errors), and no third-party package."""
    allowed = ("fleettui.config", "fleettui.paths", "fleettui.errors")
    modules = list(_modules("config"))
    assert modules, "fleettui/config/ is not a package any more: update this test"
    offenders = [(str(p.relative_to(PKG)), m) for p, tree in modules for m in _imported_names(p, tree)
                 if m.split(".")[0] not in sys.stdlib_module_names
                 and not any(m == a or m.startswith(a + ".") for a in allowed)]
    assert offenders == []


def test_no_in_place_instance_mutation_anywhere():
    """Replace-only: no code path may modify, stop, reboot or remote-control an instance."""
    banned = ("modify_instance_attribute", "stop_instances", "reboot_instances", "send_command", "start_session",
              "ModifyInstanceAttribute", "StopInstances", "RebootInstances", "SendCommand", "paramiko")
    offenders = [(str(p.relative_to(PKG)), b) for p, _ in _modules() for b in banned
                 if b in p.read_text(encoding="utf-8")]
    assert offenders == []


# -- the emulator (embedded moto, seeding, demo scenarios) is not production code: only the context reaches it --

EMULATOR = "fleettui.emulator"
EMULATOR_DOORS = {"context.py"}        # --demo and `demo serve` both start the emulator through fleettui.context


def _emulator_importers(sub: str = ""):
    return {str(p.relative_to(PKG)) for p, tree in _modules(sub) if p.relative_to(PKG).parts[0] != "emulator"
            and any(_within(m, EMULATOR) for m in _imports(tree, p))}


def test_only_the_context_imports_the_emulator():
    assert _emulator_importers() == EMULATOR_DOORS


def test_aws_domain_and_actions_never_import_the_emulator():
    assert {sub: _emulator_importers(sub) for sub in ("aws", "domain", "actions")} == \
        {"aws": set(), "domain": set(), "actions": set()}


def test_the_emulator_imports_no_layer_of_the_app():
    banned = ("fleettui.aws", "fleettui.actions", "fleettui.ui", "fleettui.cli", "fleettui.cli_actions",
              "fleettui.context")
    offenders = [(str(p.relative_to(PKG)), m) for p, tree in _modules("emulator") for m in _imports(tree, p)
                 if any(_within(m, b) for b in banned)]
    assert offenders == []


def test_no_two_modules_import_each_other():
    """Imports point one way: no pair of fleettui modules imports each other (at run time; TYPE_CHECKING-only
    imports are not imports)."""
    mods = {".".join(("fleettui", *p.relative_to(PKG).with_suffix("").parts)).removesuffix(".__init__"): tree
            for p, tree in _modules()}
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, tree in mods.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in mods]
                targets = subs if subs and len(subs) == len(node.names) else [node.module, *subs]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            edges[m].update(t for t in targets if t in mods and t != m)
    both = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges[b]})
    assert both == []
