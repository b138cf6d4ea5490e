from engagex.accounts.models import WorkspaceSecurity
from engagex.accounts.selectors import workspace_security_get


def workspace_security_update(*, require_mfa: bool) -> WorkspaceSecurity:
    """Change the workspace's sign-in rules (Owners only; the admin checks)."""
    security = workspace_security_get()
    security.require_mfa = require_mfa
    security.full_clean()
    security.save()
    return security
