"""gunicorn hooks for bench/signup_forms.py's "obvious approach": each worker makes the
contact and membership and sends the confirmation email inside the request, instead of
keeping the post for the task cluster."""


def post_worker_init(worker):
    from engagex.subscriptions import signup_views, tasks
    from engagex.subscriptions.services import confirmation, forms

    def send_now(func, schema_name, membership_ids):
        tasks.confirmations_send_batch(schema_name, membership_ids)

    confirmation.async_task = send_now
    signup_views.signup_queue = forms.signup_submit  # same keyword arguments
