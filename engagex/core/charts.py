"""Chart.js options shared by the consoles' charts (dashboards, the campaign report)."""

import json

CHART_OPTIONS = json.dumps(
    {
        "plugins": {"legend": {"display": True, "position": "bottom"}},
        "scales": {"y": {"display": True, "beginAtZero": True, "ticks": {"precision": 0}}},
    }
)
