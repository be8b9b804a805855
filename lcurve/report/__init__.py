"""HTML reports of a run folder: the findings first (:func:`run_findings`), then the figures,
then an appendix (:func:`write_report`).

Layer: the top of the library; imports ``plot``, ``curves``, ``affinity``, ``latent`` and
``sweep``; only ``cli`` and the demo pipeline (:mod:`lcurve.demo`) import it.
"""

from lcurve.report.build import (FINDINGS_FILE, SECTIONS, choose_target_score, report_versions,
                                 write_report)
from lcurve.report.findings import Finding, findings_html, findings_text, run_findings
from lcurve.report.inputs import RunInputs, find_inputs

__all__ = ["FINDINGS_FILE", "SECTIONS", "Finding", "RunInputs", "choose_target_score", "find_inputs",
           "findings_html", "findings_text", "report_versions", "run_findings", "write_report"]
