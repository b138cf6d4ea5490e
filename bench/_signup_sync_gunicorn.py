"""gunicorn hooks for bench/signup_forms.py's "obvious approach": each worker sends the
confirmation email inside the request instead of queueing a task."""


def post_worker_init(worker):
    from engagex.subscriptions import tasks
    from engagex.subscriptions.services import confirmation

    def send_now(func, schema_name, membership_ids):
        tasks.confirmations_send_batch(schema_name, membership_ids)

    confirmation.async_task = send_now
