"""Monitoring that watches for you: the rules file, scheduled checks, their documents, alerts.

* :mod:`~workshop.alerts.rules` — ``infra/monitoring/rules.toml`` validated (pydantic);
* :mod:`~workshop.alerts.checks` — measure each signal with Elasticsearch aggregations, judge it;
* :mod:`~workshop.alerts.store` — ``monitoring-YYYY.MM.DD`` documents, alert state, spool;
* :mod:`~workshop.alerts.runner` — ``workshop monitor run --once`` / ``--every 60s``.

Importing this package is light (pydantic, tomllib); pandas, scipy and the Elasticsearch queries
load when a round runs.
"""

from workshop.alerts.checks import FIRING, OK, Evaluation, Measurement, judge
from workshop.alerts.rules import RULES_PATH, Rule, RulesError, RuleSet, Signal, load_rules
from workshop.alerts.runner import RoundResult, format_round, run_forever, run_once
from workshop.alerts.store import INDEX_PATTERN, Spool, current_states, evaluation_id, index_for

__all__ = [
    "FIRING",
    "INDEX_PATTERN",
    "OK",
    "RULES_PATH",
    "Evaluation",
    "Measurement",
    "RoundResult",
    "Rule",
    "RuleSet",
    "RulesError",
    "Signal",
    "Spool",
    "current_states",
    "evaluation_id",
    "format_round",
    "index_for",
    "judge",
    "load_rules",
    "run_forever",
    "run_once",
]
