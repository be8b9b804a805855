"""The examples in the package's docstrings run and print what they say.

Modules whose examples train networks or fit curves (several seconds each) are marked
``slow`` (``pytest -m slow``); the rest run with the suite.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import lcurve

SLOW = {"lcurve.affinity", "lcurve.affinity.accumulating", "lcurve.affinity.compare",
        "lcurve.affinity.tag", "lcurve.curves", "lcurve.curves._summaries",
        "lcurve.curves.checks", "lcurve.curves.findings", "lcurve.curves.fit",
        "lcurve.curves.planning", "lcurve.influence.curvature", "lcurve.influence.experiment",
        "lcurve.sweep.fast", "lcurve.sweep.local", "lcurve.train.accumulating"}
MODULES = sorted(m.name for m in pkgutil.walk_packages(lcurve.__path__, "lcurve."))


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
