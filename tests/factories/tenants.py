import factory

from engagex.platform.provisioning import tenant_create
from tenants.models import Domain, Tenant


class TenantFactory(factory.django.DjangoModelFactory):
    """A workspace provisioned the one real way (a cloned schema, its domain, billing, Owner)."""

    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")
    owner_email = factory.Sequence(lambda n: f"owner{n}@workspace.example")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return tenant_create(**kwargs, send_invitation=False).tenant


class DomainFactory(factory.django.DjangoModelFactory):
    """A second domain of a workspace (its primary one comes with the workspace)."""

    class Meta:
        model = Domain

    tenant = factory.SubFactory(TenantFactory)
    domain = factory.Sequence(lambda n: f"alias{n}.localhost")
    is_primary = False
