"""Every ```console example in README.md is run through a real shell and its output compared.

A block is a list of ``$ command`` lines, each followed by the output it prints
(stdout and stderr together, as a terminal shows them).  The blocks run in
order, each in its own temporary directory holding a copy of the repository's
``sample_configs/``, with ``initcli`` and ``python`` on ``PATH`` meaning this
interpreter (``python -m initcli``), so CI's environment is the one tested.

The comparison is exact, with two explicit wildcards and nothing else:

- an output line that is exactly ``...`` matches any number of lines (the
  README leaves them out);
- ``...`` inside a line matches any text there (a figure that depends on the
  machine, such as the memory available).

A block preceded by ``<!-- readme-test: skip (reason) -->`` is not run (for
examples that need something CI cannot install); the test counts the blocks
and commands that did run and insists on a minimum, so it cannot pass by
running nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
WILDCARD = "..."
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b(.*?)-->")

MIN_BLOCKS = 12
MIN_COMMANDS = 33


@dataclass
class Command:
    line: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    start: int  # README line number of the opening fence
    commands: list[Command]
    skip: str | None


def parse_readme(text: str) -> list[Block]:
    """The ```console blocks of ``text``, each with its commands and expected output."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```console":
            i += 1
            continue
        previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        skipped = SKIP.search(previous)
        start = i + 1
        commands: list[Command] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            line = lines[i]
            if line.startswith("$ "):
                commands.append(Command(line[2:]))
            elif not commands:
                raise AssertionError(f"README.md:{i + 1}: output before any '$ command' line: {line!r}")
            else:
                commands[-1].expected.append(line)
            i += 1
        blocks.append(Block(start, commands, skipped.group(1).strip(" ()") if skipped else None))
        i += 1
    return blocks


def _line_matches(pattern: str, actual: str) -> bool:
    if WILDCARD not in pattern:
        return pattern == actual
    regex = ".*".join(re.escape(part) for part in pattern.split(WILDCARD))
    return re.fullmatch(regex, actual) is not None


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` lines fit ``expected``, where a line ``...`` stands for any lines."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == WILDCARD:
        return any(matches(rest, actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and _line_matches(head, actual[0]) and matches(rest, actual[1:])


def shell_environment(bin_dir: Path) -> dict[str, str]:
    """PATH with ``initcli`` and ``python`` shims for this interpreter; nothing else that would change output."""
    bin_dir.mkdir()
    for name, command in (("initcli", f'"{sys.executable}" -m initcli'), ("python", f'"{sys.executable}"')):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
        shim.chmod(0o755)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INITCLI_") or k == "INITCLI_CACHE_DIR"}
    environment["PATH"] = f"{bin_dir}{os.pathsep}{environment.get('PATH', '')}"
    environment.pop("PYTHONPATH", None)
    return environment


BLOCKS = parse_readme(README.read_text(encoding="utf-8"))


def test_the_readme_parser_sees_the_examples():
    ran = [b for b in BLOCKS if b.skip is None]
    assert len(ran) >= MIN_BLOCKS, f"only {len(ran)} console blocks would run"
    assert sum(len(b.commands) for b in ran) >= MIN_COMMANDS
    assert all(b.commands for b in BLOCKS), "a console block without a '$ command' line"


def test_the_wildcards_are_explicit_and_nothing_else_is_loose():
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert matches(["a", "...", "d"], ["a", "d"])
    assert not matches(["a", "...", "d"], ["a", "b", "c"])
    assert matches(["only ... is available"], ["only 23.2 GiB is available"])
    assert not matches(["only ... is available"], ["only 23.2 GiB is free"])
    assert not matches(["a"], ["a", ""])
    assert not matches(["a b"], ["a  b"])
    assert not matches([], ["anything"])


@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{b.start}" for b in BLOCKS])
def test_readme_console_example(block: Block, tmp_path: Path):
    if block.skip is not None:
        pytest.skip(f"marked in README.md: {block.skip}")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(ROOT / "sample_configs", work / "sample_configs")
    environment = shell_environment(tmp_path / "bin")
    for command in block.commands:
        proc = subprocess.run(
            ["bash", "-c", command.line],
            cwd=work,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
        actual = proc.stdout.decode("utf-8", "replace").splitlines()
        assert matches(command.expected, actual), (
            f"README.md:{block.start}: $ {command.line}\n--- README shows:\n"
            + "\n".join(command.expected)
            + "\n--- it prints:\n"
            + "\n".join(actual)
        )
