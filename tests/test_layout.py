"""The package's layout is its architecture: parts as folders, imports running one way, tests beside each part, and
every command the docs name a module that runs. Read from the source (ast), not from imports at run time, so an
import inside a function counts as much as one at the top."""

import ast
import importlib.util
import re

from conftest import ROOT

PACKAGE = ROOT / "review_sentiment"
# Lower parts never import higher ones; the three products sit on the same level and never import each other.
LEVEL = {"shared": 0, "data": 1, "export": 2, "inference": 3, "evaluation": 4, "training": 5, "space": 5, "bulk": 5}
FOLDERS = {"data", "export", "inference", "evaluation", "training", "space"}  # bulk is one module: bulk.py


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def part_of(module: str) -> str | None:
    """The part a module belongs to; None for the package itself (its __version__ and the lazy Predictor entry)."""
    rest = module.split(".")[1:]
    if not rest:
        return None
    return rest[0] if rest[0] in FOLDERS or rest[0] == "bulk" else "shared"


def imports_of(module: str) -> set[str]:
    """The project modules `module` imports, relative imports resolved, `from . import name` to the submodule."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "review_sentiment"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").split(".")[0] == "review_sentiment":
                target = node.module
            else:
                continue
            submodules = {f"{target}.{a.name}" for a in node.names} & MODULES.keys()
            found |= submodules or {target}
    return found


def test_imports_run_one_way_between_parts():
    wrong = []
    for module in MODULES:
        source = part_of(module)
        for target in imports_of(module):
            assert target in MODULES, f"{module} imports {target}, which does not exist"
            aim = part_of(target)
            if source is None or aim is None or aim == source:
                continue
            if LEVEL[aim] >= LEVEL[source]:
                wrong.append(f"{module} ({source}) imports {target} ({aim})")
    assert not wrong, "imports that run up or across the parts:\n" + "\n".join(wrong)


def test_no_import_cycles_inside_a_part():
    graph = {m: {t for t in imports_of(m) if part_of(t) == part_of(m) and t != m} for m in MODULES}
    done, path = set(), []

    def visit(module):
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(module):] + [module]))
        if module in done:
            return
        path.append(module)
        for target in graph[module]:
            visit(target)
        path.pop()
        done.add(module)

    for module in graph:
        visit(module)


def test_the_listing_is_the_parts_each_says_what_it_holds_and_has_its_tests():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == FOLDERS
    top = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text()))
    for part in LEVEL:
        if part != "shared":
            assert f"`{part}`" in top, f"the package docstring names the part {part}"
        assert list((ROOT / "tests" / part).glob("test_*.py")) or part == "shared", f"tests/{part}/ holds its tests"
    for folder in FOLDERS:
        doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text())) or ""
        assert "Imports:" in doc, f"review_sentiment/{folder}/__init__.py says what it may import"
        for module in (PACKAGE / folder).glob("*.py"):
            assert module.stem == "__init__" or f"`{module.stem}`" in doc, f"{folder}'s docstring names {module.stem}"


def test_every_command_the_docs_name_is_a_module_that_runs():
    docs = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", ROOT / "model_card.md", *PACKAGE.rglob("*.py")]
    named = set()
    for doc in filter(lambda p: p.exists(), docs):
        named |= set(re.findall(r"-m (review_sentiment(?:\.\w+)*)", doc.read_text()))
    assert {"review_sentiment.bulk", "review_sentiment.evaluation.evaluate", "review_sentiment.space.publish"} <= named
    for name in named:
        spec = importlib.util.find_spec(name)
        assert spec and spec.origin, f"`python -m {name}` names no module"
        assert 'if __name__ == "__main__":' in open(spec.origin).read(), f"{name} is not a command"
