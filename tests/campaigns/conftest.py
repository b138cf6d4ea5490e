import pytest

from engagex.campaigns.services import sending


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch):
    monkeypatch.setattr(sending, "RETRY_DELAYS", (0, 0, 0))
