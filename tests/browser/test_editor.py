"""The drag-and-drop email editor in headless Chromium, under the console's CSP.

An Owner opens a starter, drags a heading, an image (uploaded through the asset manager)
and a button into it, inserts a merge tag, saves, previews on mobile and in dark mode,
restores the previous version and sends a test email; the editor is looked at in Spanish
and German; a Viewer sees the template read-only. The fixture in test_journeys fails the
test on any Content-Security-Policy violation Chromium reports.
Screenshots: test-results/browser/editor-*.png; time to ready: editor-ready.txt there.
"""

import re

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from engagex.accounts.services import user_create
from engagex.email_templates.models import EmailTemplate, MediaAsset
from tests.browser import test_journeys as journeys
from tests.browser.test_journeys import SHOTS, Steps, _last_mail, _launch, _log_in
from tests.email_templates.images import SVG_WITH_SCRIPT, image_bytes
from tests.fixtures.tenants import OWNER_PASSWORD, SESSION_TENANTS

pytestmark = journeys.pytestmark
server = journeys.server
mail_dir = journeys.mail_dir
_no_csp_violations = journeys._no_csp_violations  # autouse: fails on any CSP violation
VIEWER = ("viewer@editor.example", "Viewer-pass-2026")
NAME = "Editor journey"
CANVAS = "iframe.gjs-frame"
# The space typed at the end of a text is kept as a no-break space by the browser.
HEADING_WITH_TAG = r"Your heading,(?: |&nbsp;|\xa0)\{\{ contact.first_name \}\}"


@pytest.fixture
def alpha_cleanup(server, django_db_blocker):
    """The session workspace "alpha" loses what the journey made there."""
    yield
    with django_db_blocker.unblock(), schema_context("alpha"):
        from engagex.accounts.models import User

        EmailTemplate.objects.filter(name=NAME).delete()
        MediaAsset.objects.filter(name__startswith="journey").delete()
        User.objects.filter(email=VIEWER[0]).delete()
        connection.close()


def _editor_ready(page) -> None:
    page.wait_for_selector("[data-engagex-editor][data-ready]", state="attached")


def _canvas(page):
    return page.frame_locator(CANVAS)


def _drag_block(page, block_id: str, target) -> None:
    """Drag a block from the block panel onto an element of the canvas (real mouse moves)."""
    page.locator("[data-editor-canvas]").evaluate("el => el.scrollIntoView({block: 'start'})")
    block = page.locator(f".gjs-block[data-block={block_id}]")
    block.scroll_into_view_if_needed()
    target.evaluate("el => el.scrollIntoView({block: 'center'})")  # inside the canvas
    start = block.bounding_box()
    box = target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 10, y + 10, steps=5)
    page.wait_for_timeout(100)  # GrapesJS starts its sorter on dragstart
    # Over the lower half of the target: dropped after it.
    target_x = box["x"] + box["width"] / 2
    page.mouse.move(target_x, box["y"] + box["height"] * 0.5, steps=25)
    page.wait_for_timeout(100)
    page.mouse.move(target_x, box["y"] + box["height"] * 0.8, steps=5)
    page.wait_for_timeout(200)  # the placeholder settles on the last dragover
    page.mouse.up()


def _template(django_db_blocker) -> EmailTemplate:
    with django_db_blocker.unblock(), schema_context("alpha"):
        template = EmailTemplate.objects.get(name=NAME)
        connection.close()
    return template


def _mjml(page) -> str:
    return page.evaluate("() => window.engagexEditor.getHtml()")


def test_editor_journey(server, django_db_blocker, mail_dir, alpha_cleanup, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    workspace = f"http://alpha.localhost:{server}"
    picture = tmp_path / "journey-photo.png"
    picture.write_bytes(image_bytes(size=(320, 200), color=(30, 120, 200)))
    drawing = tmp_path / "journey-drawing.svg"
    drawing.write_bytes(SVG_WITH_SCRIPT)
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1440, "height": 1100})
        page.set_default_timeout(20_000)
        page.on("dialog", lambda dialog: dialog.accept())
        steps = Steps(page, prefix="editor")
        page.goto(f"{workspace}/admin/login/")
        _log_in(page, SESSION_TENANTS["alpha"][1], OWNER_PASSWORD)
        expect(page.get_by_text("Audience over the last 30 days")).to_be_visible()

        # 1. A new template from the "announcement" starter opens in the visual editor.
        page.goto(f"{workspace}/admin/email_templates/emailtemplate/starters/")
        card = page.locator("form[data-starter=announcement]")
        card.locator("input[name=name]").fill(NAME)
        card.locator("button[type=submit]").click()
        _editor_ready(page)
        change_url = page.url
        expect(page.locator(".gjs-block[data-block=engagex-heading]")).to_be_visible()
        steps.shot("starter-opened")
        canvas = _canvas(page)
        lead = canvas.get_by_text("Big news").first  # each block is dropped just below it

        # 2. Drag a heading, an image (uploaded in the asset manager) and a button into it.
        _drag_block(page, "engagex-heading", lead)
        expect(canvas.get_by_text("Your heading")).to_be_visible()
        heading = canvas.get_by_text("Your heading")
        _drag_block(page, "engagex-image", lead)
        expect(page.locator(".gjs-am-file-uploader input[type=file]")).to_be_attached()
        # A refused file: the server's reason is shown, and nothing lands in the library.
        page.set_input_files(".gjs-am-file-uploader input[type=file]", str(drawing))
        expect(page.locator("[data-editor-notice]")).to_contain_text("is an SVG drawing")
        expect(page.locator(".gjs-am-asset", has_text="journey-drawing")).to_have_count(0)
        page.set_input_files(".gjs-am-file-uploader input[type=file]", str(picture))
        asset = page.locator(".gjs-am-asset", has_text="journey-photo")
        expect(asset).to_be_visible()
        steps.shot("asset-uploaded")
        asset.dblclick()  # choose it (and close the asset manager)
        expect(page.locator(".gjs-mdl-container")).to_be_hidden()
        _drag_block(page, "engagex-button", lead)
        expect(canvas.get_by_text("Read more").first).to_be_visible()

        # 3. A merge tag from the text toolbar, at the end of the new heading.
        heading.dblclick()
        page.keyboard.press("End")
        page.keyboard.type(", ")
        page.select_option(".gjs-rte-toolbar select[data-merge-tag]", "{{ contact.first_name }}")
        expect(canvas.get_by_text("Your heading, {{ contact.first_name }}")).to_be_visible()
        steps.shot("dragged-and-merge-tag")
        # The page's live preview follows the design (rendered for the sample contact)
        # once the text is left.
        lead.click()
        expect(page.locator("#live-preview iframe")).to_have_attribute(
            "srcdoc", re.compile(r"Your heading,(?: |&nbsp;|\xa0)Alex")
        )

        # 4. Save while still typing in a text: the text is synced before the form posts.
        heading.dblclick()
        page.keyboard.press("End")
        page.keyboard.type("!")
        page.click("button[name=_continue]")
        _editor_ready(page)
        saved = _template(django_db_blocker)
        assert saved.editor == "visual"
        assert re.search(HEADING_WITH_TAG + "!", saved.mjml_source), saved.mjml_source
        assert re.search(r'<mj-image[^>]+src="[^"]*journey-photo[^"]*\.png"', saved.mjml_source)
        assert "Read more</mj-button>" in saved.mjml_source
        assert saved.design["pages"]
        assert re.search(HEADING_WITH_TAG, saved.html_body)
        # Reopened from the design, with what was dragged in.
        expect(_canvas(page).get_by_text("Your heading, {{ contact.first_name }}")).to_be_visible()

        # 5. Mobile preview and the dark-mode preview.
        page.locator(".gjs-pn-btn[title=Mobile]").click()
        expect(page.locator(".gjs-frame-wrapper")).to_have_css("width", "320px")
        steps.shot("mobile")
        page.locator(".gjs-pn-btn[data-dark-preview]").click()
        dark = page.evaluate(
            "() => document.querySelector('iframe.gjs-frame').contentDocument"
            ".documentElement.classList.contains('engagex-dark-preview')"
        )
        assert dark
        steps.shot("mobile-dark")

        # 6. Restore the previous version (the starter as it was created).
        page.goto(change_url.replace("/change/", "/history/"))
        page.locator("tr[data-version='1'] a", has_text="Restore").click()
        page.click("button[type=submit]:has-text('Restore')")
        _editor_ready(page)
        restored = _template(django_db_blocker)
        assert "Your heading" not in restored.mjml_source
        assert "Big news" in restored.mjml_source
        expect(_canvas(page).get_by_text("Your heading")).to_have_count(0)
        steps.shot("restored")

        # 7. Send a test email of the template.
        page.goto(change_url.replace("/change/", "/preview/"))
        page.fill("#id_recipients", "tester@editor.example")
        page.click("form[action*='send-test'] button[type=submit]")
        expect(page.get_by_text("A test email was sent to tester@editor.example.")).to_be_visible()
        mail = _last_mail(mail_dir, "tester@editor.example")
        assert "Big news" in mail

        # 8. The editor in Spanish and German (GrapesJS' panels from its own catalogues).
        for language, title in (("es", "Abrir Bloques"), ("de", "Blöcke öffnen")):
            page.context.add_cookies(
                [{"name": "django_language", "value": language, "url": workspace}]
            )
            page.goto(change_url)
            _editor_ready(page)
            expect(page.locator(f".gjs-pn-btn[title='{title}']")).to_be_visible()
            ready = page.evaluate("() => window.engagexEditorReady.at") / 1000
            with (SHOTS / "editor-ready.txt").open("a") as figures:
                figures.write(f"{language}: editor ready {ready:.3f} s after navigation\n")
            page.locator("[data-editor-canvas]").evaluate("el => el.scrollIntoView()")
            Steps(page, prefix=f"editor-{language}").shot("editor")
        page.context.add_cookies([{"name": "django_language", "value": "en", "url": workspace}])
        browser.close()

        # 9. A Viewer sees the design read-only: no blocks, no design field, no save button.
        with django_db_blocker.unblock(), schema_context("alpha"):
            user_create(email=VIEWER[0], role="Viewer", password=VIEWER[1])
            connection.close()
        browser = _launch(playwright)
        viewer = browser.new_page(viewport={"width": 1440, "height": 1100})
        viewer.set_default_timeout(20_000)
        viewer.goto(f"{workspace}/admin/login/")
        _log_in(viewer, *VIEWER)
        viewer.goto(change_url)
        viewer.wait_for_selector(
            "[data-engagex-editor][data-readonly][data-ready]", state="attached"
        )
        expect(_canvas(viewer).get_by_text("Big news")).to_be_visible()
        expect(viewer.locator(".gjs-block")).to_have_count(0)
        expect(viewer.locator("textarea[name=design]")).to_have_count(0)
        expect(viewer.locator("button[name=_save]")).to_have_count(0)
        Steps(viewer, prefix="editor-viewer").shot("read-only")
        browser.close()


def test_code_modes_and_the_switch_to_the_visual_editor(server, django_db_blocker, alpha_cleanup):
    """An MJML template opens as code; the visual editor opens from that code; leaving it
    asks first, and a save in code mode keeps the MJML and drops the design."""
    from playwright.sync_api import expect, sync_playwright

    source = (
        "<mjml><mj-body><mj-section><mj-column><mj-text>Written as code</mj-text>"
        '<mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>'
        "</mj-column></mj-section></mj-body></mjml>"
    )
    with django_db_blocker.unblock(), schema_context("alpha"):
        template = EmailTemplate.objects.create(
            name=NAME, subject="Code", editor="mjml", mjml_source=source, html_body="<p>x</p>"
        )
        connection.close()
    workspace = f"http://alpha.localhost:{server}"
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1440, "height": 1100})
        page.set_default_timeout(20_000)
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
        page.goto(f"{workspace}/admin/login/")
        _log_in(page, SESSION_TENANTS["alpha"][1], OWNER_PASSWORD)
        page.goto(f"{workspace}/admin/email_templates/emailtemplate/{template.pk}/change/")
        expect(page.locator("textarea[name=mjml_source]")).to_be_visible()
        expect(page.locator("[data-engagex-editor]")).to_be_hidden()
        expect(page.locator("textarea[name=html_body]")).to_be_hidden()

        page.select_option("select[name=editor]", "visual")
        _editor_ready(page)
        expect(_canvas(page).get_by_text("Written as code")).to_be_visible()
        expect(page.locator("textarea[name=mjml_source]")).to_be_hidden()
        Steps(page, prefix="editor-modes").shot("visual-from-code")

        page.select_option("select[name=editor]", "mjml")
        assert len(dialogs) == 1
        assert "Leave the visual editor?" in dialogs[0]
        expect(page.locator("textarea[name=mjml_source]")).to_have_value(
            re.compile("Written as code")
        )
        page.click("button[name=_continue]")
        expect(page.locator("textarea[name=mjml_source]")).to_be_visible()
        browser.close()
    with django_db_blocker.unblock(), schema_context("alpha"):
        saved = EmailTemplate.objects.get(pk=template.pk)
        connection.close()
    assert (saved.editor, saved.design) == ("mjml", {})
    assert "Written as code" in saved.mjml_source
    assert "Written as code" in saved.html_body
