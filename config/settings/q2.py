"""django-q2: the ORM broker (PostgreSQL) by default, Redis when REDIS_URL is set."""

from config.env import env

REDIS_URL = env.str("REDIS_URL", default="")

Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="engagex"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=600),
    # Must exceed timeout: a task still running is not handed to a second worker.
    "retry": env.int("Q_RETRY", default=660),
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Task queue",
    "poll": 0.5,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
