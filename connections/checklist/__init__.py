"""The setup checklist: ordered steps that prove a connection works, each with a fix.

Plain Python, no database: `results` (Subject, Step, StepResult), `site_steps` (the API calls),
`record_steps` (recorded details), `registry` (every step once, in order, and the runner).
Texts paraphrase Issuetrak's procedure for connecting Zapier (see connections.procedure).
"""

from connections.checklist.registry import (
    SITE_STEP_KEYS,
    STEP_KEYS,
    STEPS,
    result_from,
    run_checklist,
    step_for,
)
from connections.checklist.results import Step, StepResult, Subject, overall_of

__all__ = [
    "SITE_STEP_KEYS",
    "STEPS",
    "STEP_KEYS",
    "Step",
    "StepResult",
    "Subject",
    "overall_of",
    "result_from",
    "run_checklist",
    "step_for",
]
