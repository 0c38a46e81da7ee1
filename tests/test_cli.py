"""The ``eks-secure`` command itself: verb registration, plain ``--help`` on every verb,
``--version``, exit codes and error reporting shared by all verbs."""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import pkgutil
import re
import sys
import tomllib
from pathlib import Path

import pytest
from synth import REPO

import eks_secure.cli
from eks_secure.cli import VERBS, main, verbs
from eks_secure.cli._common import Verb
from eks_secure.errors import ConfigError, ConfigErrors
from eks_secure.preflight import main as preflight_main

pytestmark = pytest.mark.xdist_group("cli-tools")

VERB_NAMES = [verb.name for verb in verbs()]
MARKUP = ("``", ":func:", ":class:", ":mod:", ":data:", ":meth:", "%(", "%%", ".. ")


def test_every_verb_module_is_registered() -> None:
    modules = {
        m.name for m in pkgutil.iter_modules(eks_secure.cli.__path__) if not m.name.startswith("_")
    }
    assert modules == set(VERBS), "register each verb module in eks_secure.cli.VERBS"


def test_verb_names_match_their_modules() -> None:
    assert [name.replace("_", "-") for name in VERBS] == VERB_NAMES


@pytest.mark.parametrize("verb", VERB_NAMES)
def test_help_is_plain_text(
    verb: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert main([verb, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: eks-secure {verb} ")
    for marker in MARKUP:
        assert marker not in text, f"{verb} --help shows {marker!r}"
    assert "exit codes:\n  0  success\n  1  findings: " in text
    assert "\n  2  usage error" in text and "\n  3  internal error" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_top_level_help_lists_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for verb in verbs():
        assert re.search(rf"^    {verb.name} +{re.escape(verb.summary[:30])}", text, re.M), (
            verb.name
        )


def test_version_comes_from_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"eks-secure {importlib.metadata.version('eks-secure')}\n"


def test_console_script_is_the_package_main() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["eks-secure"] == "eks_secure.cli:main"
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="eks-secure")
    assert script.load() is main


@pytest.mark.parametrize("args", [[], ["no-such-verb"], ["advise", "--no-such-option"]])
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert "usage: eks-secure" in capsys.readouterr().err


def _with_verb(monkeypatch: pytest.MonkeyPatch, run: object) -> None:
    """Register an extra verb ``probe`` whose run is ``run``."""
    probe = Verb(
        name="probe",
        summary="test verb",
        description="A verb for tests.",
        configure=lambda parser: None,
        run=run,  # type: ignore[arg-type]
        findings="never",
    )
    registered = verbs()
    monkeypatch.setattr(eks_secure.cli, "verbs", lambda: (*registered, probe))


def _raise(exc: BaseException) -> object:
    def run(args: argparse.Namespace) -> int:
        raise exc

    return run


def test_config_errors_are_printed_with_their_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    errors = ConfigErrors([ConfigError("a.json", "is bad", "fix a"), ConfigError("b", "x", "y")])
    _with_verb(monkeypatch, _raise(errors))
    assert main(["probe"]) == 2
    assert capsys.readouterr().err == (
        "eks-secure probe: a.json: is bad\n  fix: fix a\neks-secure probe: b: x\n  fix: y\n"
    )


def test_internal_error_exits_3_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_verb(monkeypatch, _raise(RuntimeError("boom")))
    monkeypatch.delenv("EKS_SECURE_DEBUG", raising=False)
    assert main(["probe"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("eks-secure probe: internal error: RuntimeError: boom\n")
    assert "Traceback" not in err
    monkeypatch.setenv("EKS_SECURE_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["probe"])


def test_closed_pipe_and_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    # main() points a closed stdout at /dev/null; keep that away from pytest's own capture fd
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    _with_verb(monkeypatch, _raise(BrokenPipeError()))
    assert main(["probe"]) == 0
    _with_verb(monkeypatch, _raise(KeyboardInterrupt()))
    assert main(["probe"]) == 130


def test_docs_have_a_section_per_verb() -> None:
    page = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for verb in VERB_NAMES:
        assert re.search(rf"^## `eks-secure {verb}`$", page, re.M), f"docs/cli.md: {verb}"


def test_preflight_without_an_assembly_exits_2_with_a_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fix = "  fix: pass a cloud assembly directory (run `make synth` to write cdk.out)\n"
    missing = tmp_path / "missing"
    expected = f"eks-secure preflight: {missing}: does not exist\n{fix}"
    assert main(["preflight", str(missing)]) == 2
    assert capsys.readouterr().err == expected
    assert preflight_main([str(missing)]) == 2  # python -m eks_secure.preflight: the same
    assert capsys.readouterr().err == expected
    assert main(["preflight", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"eks-secure preflight: {tmp_path}: is not a cloud assembly (it has no manifest.json)\n"
        + fix
    )


@pytest.mark.parametrize(
    "args",
    [
        ["init", "--pattern", "istio"],
        ["diagram", str(REPO / "patterns" / "examples" / "base.yaml"), "-f", "dot"],
    ],
    ids=["init", "diagram"],
)
def test_unwritable_output_exits_2_naming_it(
    args: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verb = args[0]
    target = tmp_path / "no-such-dir" / "out"
    assert main([*args, "-o", str(target)]) == 2
    assert capsys.readouterr().err == (
        f"eks-secure {verb}: {target}: cannot be written: the directory {target.parent} does not "
        f"exist\n  fix: create it first (mkdir -p {target.parent}) or pass another -o path\n"
    )
    assert main([*args, "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"eks-secure {verb}: {tmp_path}: is a directory\n"
        f"  fix: name the file to write, e.g. -o {tmp_path / 'FILE'}\n"
    )

    def denied(self: Path, *args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_text", denied)
    assert main([*args, "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"eks-secure {verb}: {tmp_path / 'out'}: cannot be written: permission denied\n"
        f"  fix: pass an -o path you can write to, or fix the permissions of {tmp_path}\n"
    )


def test_preflight_takes_f_like_every_data_verb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing"
    assert main(["preflight", str(missing), "-f", "json"]) == 2  # parsed: the assembly is missing
    assert capsys.readouterr().err.startswith(f"eks-secure preflight: {missing}: does not exist\n")
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["preflight", "--help"]) == 0
    assert re.search(
        r"^  -f FORMAT, --format FORMAT +output format: text, json \(default: text\)$",
        capsys.readouterr().out,
        re.M,
    )
