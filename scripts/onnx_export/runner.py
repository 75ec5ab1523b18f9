"""Runs exported graphs through the project's ONNX Runtime checker, `vlmrt_onnx_check`
(tools/onnx_check; Python here has no onnxruntime): inputs go in as .npy files, outputs come back
as numpy arrays.

    checker = Checker(path)                  # raises CheckerMissing when the file is absent
    checker.describe(model) -> Description   # .inputs / .outputs: {name: (type, [dims])}
    checker.run(model, {name: ndarray}) -> {name: ndarray}
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Union

import numpy as np

Dim = Union[int, str]


class CheckerMissing(RuntimeError):
    pass


class CheckerFailed(RuntimeError):
    pass


@dataclass
class Description:
    inputs: dict[str, tuple[str, list[Dim]]] = field(default_factory=dict)
    defaults: dict[str, tuple[str, list[Dim]]] = field(default_factory=dict)
    outputs: dict[str, tuple[str, list[Dim]]] = field(default_factory=dict)


def _dims(text: str) -> list[Dim]:
    inner = text.strip()[1:-1]
    if not inner:
        return []
    return [int(d) if d.lstrip("-").isdigit() else d for d in inner.split(",")]


class Checker:
    def __init__(self, path: str, threads: int = 1) -> None:
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            raise CheckerMissing(path)
        self.path = path
        self.threads = threads

    def _call(self, args: list[str]) -> str:
        proc = subprocess.run([self.path, *args, "--threads", str(self.threads)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise CheckerFailed((proc.stderr or proc.stdout).strip())
        return proc.stdout

    def describe(self, model: str) -> Description:
        out = Description()
        kinds = {"input": out.inputs, "input-with-default": out.defaults, "output": out.outputs}
        for line in self._call([model, "--describe"]).splitlines():
            parts = line.split(" ")
            if len(parts) == 4 and parts[0] in kinds:
                kinds[parts[0]][parts[1]] = (parts[2], _dims(parts[3]))
        return out

    def run(self, model: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with tempfile.TemporaryDirectory(prefix="vlmrt-onnx-") as tmp:
            args = [model, "--outputs-dir", os.path.join(tmp, "out")]
            for i, (name, value) in enumerate(inputs.items()):
                path = os.path.join(tmp, f"in{i}.npy")
                np.save(path, np.asarray(value, order="C"))  # keeps 0-d arrays 0-d
                args += ["--input", f"{name}={path}"]
            self._call(args)
            out_dir = os.path.join(tmp, "out")
            return {f[:-4]: np.load(os.path.join(out_dir, f)) for f in os.listdir(out_dir)}
