"""Public sign-up forms (engagex.subscriptions): anti-abuse knobs, each from the environment.

Rates are "count/seconds". Counted in the shared cache (config/settings/cache.py: Redis when
REDIS_URL is set, else the PostgreSQL cache table), per workspace.
"""

from config.env import env

# Every POST from one client address to one workspace's forms, accepted or not.
SIGNUP_RATE_PER_IP = env.str("SIGNUP_RATE_PER_IP", default="20/60")
# Accepted sign-ups of one address (each may send a confirmation email): resends included.
SIGNUP_RATE_PER_ADDRESS = env.str("SIGNUP_RATE_PER_ADDRESS", default="3/3600")
# Seconds between serving the hosted page and a post that counts as typed by a person.
SIGNUP_MIN_FILL_SECONDS = env.int("SIGNUP_MIN_FILL_SECONDS", default=3)
# ALTCHA proof-of-work: PBKDF2 iterations per try and the range the answer is drawn from
# (headless Chromium here: 0.16 ms a try, so 0.3-1.6 s; phones take a few times longer).
SIGNUP_ALTCHA_COST = env.int("SIGNUP_ALTCHA_COST", default=1000)
SIGNUP_ALTCHA_COUNTER = (
    env.int("SIGNUP_ALTCHA_COUNTER_MIN", default=2000),
    env.int("SIGNUP_ALTCHA_COUNTER_MAX", default=10000),
)
# A sign-up post larger than this is refused with 413 before it is parsed.
SIGNUP_MAX_BYTES = env.int("SIGNUP_MAX_BYTES", default=16 * 1024)
# Memberships per confirmation-email task (imports and the API hand over thousands at once).
SIGNUP_CONFIRMATION_BATCH = env.int("SIGNUP_CONFIRMATION_BATCH", default=500)
# Accepted posts wait in a table for the task cluster; one task takes this many per
# transaction (a burst of sign-ups becomes a few tasks, not one per post).
SIGNUP_PROCESS_BATCH = env.int("SIGNUP_PROCESS_BATCH", default=200)
# The public pages read a form and its lists at most this often per process: a change to a
# form reaches visitors within these seconds (the sign-up itself is checked when processed).
SIGNUP_FORM_CACHE_SECONDS = env.int("SIGNUP_FORM_CACHE_SECONDS", default=5)
# One processing task works this long, then queues the next if sign-ups are still waiting
# (a worker is never held by one workspace's burst).
SIGNUP_PROCESS_SECONDS = env.int("SIGNUP_PROCESS_SECONDS", default=60)
