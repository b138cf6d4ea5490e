class ServiceValidatedFieldsMixin:
    """A ModelForm that parses its `service_validated` fields and leaves judging them to the
    service that saves the form (its refusal shown by ServiceErrorsAdminMixin).

    A ModelForm runs the model's own validators and constraints on every field it shows.
    For a field whose rule a service checks (a unique name or address, a slug's format),
    that answered before the service, in other words (Django's generic slug message) or
    for no field at all (a constraint on lower(email) names none), and kept the rule in
    two places. The form field's own parsing (required, type, length) still runs.
    """

    # Model fields whose validators and constraints the form does not run.
    service_validated: tuple[str, ...] = ()

    def _get_validation_exclusions(self):
        return {*super()._get_validation_exclusions(), *self.service_validated}
