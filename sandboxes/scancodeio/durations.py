"""How long a run "scans", and whether it fails: a duration spec, overridden per input name.

Specs: ``2.5`` (fixed seconds), ``uniform:A,B``, ``normal:MEAN,SD`` (clipped at 0),
``lognormal:MU,SIGMA``, ``exp:MEAN``. A distribution draws from a generator seeded by the seed, the
project's input names and the pipeline, so the same input gets the same duration in every run of a
benchmark. Overrides come from ``<state-dir>/scancodeio-sandbox.json``::

    {"scan_seconds_by_input": {"big-*.tar.gz": "uniform:20,40", "six-*": 3},
     "fail_inputs": ["broken-*"]}

(shell-style patterns on each input file name and on the project name; the first match wins).
"""

from __future__ import annotations

import fnmatch
import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

DISTRIBUTIONS = ("uniform", "normal", "lognormal", "exp")


def parse_spec(value: Any) -> str:
    """The spec as a normalised string; ValueError when it is not one."""
    text = str(value).strip()
    kind, sep, args = text.partition(":")
    if not sep:
        if float(text) < 0:
            raise ValueError(f"negative duration: {value!r}")
        return text
    numbers = [float(part) for part in args.split(",")]
    expected = 1 if kind == "exp" else 2
    if kind not in DISTRIBUTIONS or len(numbers) != expected:
        raise ValueError(f"not a duration spec ({', '.join(DISTRIBUTIONS)} or seconds): {value!r}")
    return text


def draw(spec: str, key: str, seed: int) -> float:
    """One duration for ``spec``, deterministic in (seed, key)."""
    kind, sep, args = spec.partition(":")
    if not sep:
        return float(spec)
    digest = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    numbers = [float(part) for part in args.split(",")]
    if kind == "uniform":
        value = rng.uniform(numbers[0], numbers[1])
    elif kind == "normal":
        value = rng.gauss(numbers[0], numbers[1])
    elif kind == "lognormal":
        value = rng.lognormvariate(numbers[0], numbers[1])
    else:
        value = rng.expovariate(1 / numbers[0]) if numbers[0] > 0 else 0.0
    return max(0.0, value)


@dataclass
class DurationPolicy:
    default_spec: str = "2"
    by_input: dict[str, str] = field(default_factory=dict)
    fail_inputs: list[str] = field(default_factory=list)
    seed: int = 7

    def update(self, values: dict[str, Any]) -> None:
        """Apply config keys ``scan_seconds``, ``scan_seconds_by_input``, ``fail_inputs``, ``seed``."""
        staged: dict[str, Any] = {}
        if "scan_seconds" in values:
            staged["default_spec"] = parse_spec(values["scan_seconds"])
        if "scan_seconds_by_input" in values:
            raw = values["scan_seconds_by_input"] or {}
            if not isinstance(raw, dict):
                raise ValueError("scan_seconds_by_input must be an object of pattern: spec")
            staged["by_input"] = {str(k): parse_spec(v) for k, v in raw.items()}
        if "fail_inputs" in values:
            raw_list = values["fail_inputs"] or []
            if isinstance(raw_list, str) or not isinstance(raw_list, list):
                raise ValueError("fail_inputs must be a list of patterns")
            staged["fail_inputs"] = [str(p) for p in raw_list]
        if "seed" in values:
            staged["seed"] = int(values["seed"])
        for key, value in staged.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scan_seconds": self.default_spec,
            "scan_seconds_by_input": dict(self.by_input),
            "fail_inputs": list(self.fail_inputs),
            "seed": self.seed,
        }

    def seconds_for(self, names: list[str], pipeline: str) -> float:
        spec = self.default_spec
        for pattern, candidate in self.by_input.items():
            if any(fnmatch.fnmatchcase(name, pattern) for name in names):
                spec = candidate
                break
        return draw(spec, "\0".join([*names, pipeline]), self.seed)

    def fails(self, names: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.fail_inputs for name in names)
