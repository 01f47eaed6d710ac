"""pyproject.toml is a working package definition: its console script exists, its dependencies are
requirements.txt's, and its package data covers the files the package reads at run time.

Fast: reads files and parses source (ast), imports nothing heavy (no torch).
"""

import ast
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
PACKAGE_DATA = PYPROJECT["tool"]["setuptools"]["package-data"]


def requirements(name: str) -> dict[str, Requirement]:
    """The packages a requirements file names itself (not through ``-r``), by normalised name."""
    out = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            out[canonical(req.name)] = req
    return out


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def by_name(specs: list[str]) -> dict[str, Requirement]:
    return {canonical(req.name): req for req in map(Requirement, specs)}


def package_dir(package: str) -> Path:
    return ROOT.joinpath(*package.split("."))


def packaged_data() -> set[Path]:
    """The files pyproject's package-data globs select."""
    return {p for package, globs in PACKAGE_DATA.items() for g in globs for p in package_dir(package).glob(g)}


class TestPyprojectIsAValidPackage:
    """pyproject.toml's [project] and [tool.setuptools] (the class name lets `-k valid` select them)."""

    def test_console_script_points_at_a_callable_that_takes_no_arguments(self):
        scripts = PROJECT["scripts"]
        assert scripts["nnviz"] == "nnviz.cli:main"
        for target in scripts.values():
            module, _, func = target.partition(":")
            path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
            assert path.is_file(), f"{target}: no {path.relative_to(ROOT)}"
            tree = ast.parse(path.read_text(encoding="utf-8"))
            defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
            assert func in defs, f"{target}: no top-level def {func} in {path.relative_to(ROOT)}"
            args = defs[func].args
            # a console script calls func() and exits with its return value (an exit code)
            assert not args.posonlyargs and len(args.defaults) == len(args.args), f"{target} needs arguments"
            assert all(d is not None for d in args.kw_defaults), f"{target} needs keyword arguments"
            assert ast.unparse(defs[func].returns) == "int", f"{target} should return an exit code"

    def test_every_requirement_is_a_dependency_and_torch_is_pinned_the_same(self):
        reqs, deps = requirements("requirements.txt"), by_name(PROJECT["dependencies"])
        assert set(reqs) == set(deps), "requirements.txt and [project].dependencies name different packages"
        # a range would let pip pull a multi-GB CUDA build
        assert str(deps["torch"].specifier) == str(reqs["torch"].specifier) == "==2.13.0"

    def test_dependency_ranges_match_requirements(self):
        reqs, deps = requirements("requirements.txt"), by_name(PROJECT["dependencies"])
        for name, req in reqs.items():
            assert str(deps[name].specifier) == str(req.specifier), name

    def test_dev_requirements_are_the_dev_extra(self):
        reqs, dev = requirements("requirements-dev.txt"), by_name(PROJECT["optional-dependencies"]["dev"])
        assert {n: str(r.specifier) for n, r in reqs.items()} == {n: str(r.specifier) for n, r in dev.items()}

    def test_package_data_globs_match_charts_js_and_the_presets(self):
        for package, globs in PACKAGE_DATA.items():
            for glob in globs:
                assert list(package_dir(package).glob(glob)), (
                    f"package-data {package}: {glob!r} matches nothing"
                )
        presets = sorted((ROOT / "nnviz" / "presets").glob("*.json"))
        assert len(presets) >= 7
        assert {ROOT / "nnviz" / "ui" / "charts.js", *presets} <= packaged_data()

    def test_every_data_file_inside_the_package_is_package_data(self):
        files = [
            p
            for p in (ROOT / "nnviz").rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
        ]
        missing = sorted(str(p.relative_to(ROOT)) for p in set(files) - packaged_data())
        assert not missing, f"files in nnviz/ that an installed package would lack: {missing}"

    def test_only_the_library_is_packaged(self):
        include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
        assert "nnviz" in include and not {"tools", "tests", "bench"} & set(include)
