"""HTML reports of a run folder (:func:`write_report`) and the end-to-end demo (:mod:`.demo`).

Layer: the top of the library; imports ``plot``, ``curves``, ``affinity``, ``latent`` and
``sweep``; only ``cli`` imports it.
"""

from lcurve.report.build import choose_target_score, report_versions, write_report
from lcurve.report.inputs import RunInputs, find_inputs

__all__ = ["RunInputs", "choose_target_score", "find_inputs", "report_versions", "write_report"]
