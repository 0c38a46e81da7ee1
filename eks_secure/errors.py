"""Errors raised at synth time for bad input.

Every error names the offending field (a dotted config path such as ``apps[2].name`` or a
construct prop such as ``SecureVpc.plan``) and says how to fix it, so a user never has to read a
jsii stack trace to find out what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(ValueError):
    """Bad input: names the field, what is wrong with it and the fix."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}. Fix: {fix}")


class ConfigErrors(ConfigError):  # noqa: N818 -- a collection of ConfigError, named as such
    """Several independent problems found in one pass; ``errors`` lists each of them."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors = tuple(errors)
        if not self.errors:
            raise ValueError("ConfigErrors needs at least one error")
        first = self.errors[0]
        super().__init__(first.field, first.problem, first.fix)
        self.args = ("\n".join(f"- {e}" for e in self.errors),)

    def __str__(self) -> str:
        count = len(self.errors)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"  - {e}" for e in self.errors)
        return f"{count} configuration {noun}:\n{lines}"

    @property
    def fields(self) -> tuple[str, ...]:
        """The field named by each error, in order."""
        return tuple(e.field for e in self.errors)
