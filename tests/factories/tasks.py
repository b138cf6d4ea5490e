"""The task cluster's rows: schedules, finished tasks and queued ones (django-q2)."""

import uuid

import factory
from django.utils import timezone
from django_q.models import Failure, OrmQ, Schedule, Success
from django_q.tasks import async_task


class ScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Schedule

    name = factory.Sequence(lambda n: f"test schedule {n}")
    func = "math.copysign"
    args = "1, -1"
    schedule_type = Schedule.HOURLY
    next_run = factory.LazyFunction(timezone.now)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    id = factory.LazyFunction(lambda: uuid.uuid4().hex)
    name = factory.Sequence(lambda n: f"test-task-{n}")
    func = "math.copysign"
    args = (1, -1)
    kwargs = factory.LazyFunction(dict)
    started = factory.LazyFunction(timezone.now)
    stopped = factory.LazyFunction(timezone.now)


class SuccessFactory(TaskFactory):
    class Meta:
        model = Success

    success = True
    result = -1.0


class FailureFactory(TaskFactory):
    class Meta:
        model = Failure

    success = False
    result = "ZeroDivisionError: division by zero"


def queued_task() -> OrmQ:
    """A task waiting on the ORM broker, enqueued as the product enqueues."""
    task_id = async_task("math.copysign", 1, -1)
    return next(q for q in OrmQ.objects.all() if q.task_id() == task_id)
