from engagex.campaigns.services.campaigns import campaign_start
from tests.campaigns.test_sending import send_all
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory


def test_without_sendgrid_every_recipient_gets_a_readable_file(in_tenant, settings, tmp_path):
    settings.EMAIL_BACKEND = "engagex.campaigns.backends.LocalMailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    ContactFactory(email="ann@example.com", first_name="Ann")
    ContactFactory(email="bob@example.com", first_name="Bob")
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)

    assert send_all(campaign).status == "sent"

    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    texts = {f.read_text() for f in files}
    ann = next(t for t in texts if "To: ann@example.com" in t)
    assert "Subject: Hello Ann" in ann
    assert "Hi Ann" in ann
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in ann
    assert "[[x:" not in ann
