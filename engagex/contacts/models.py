from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from engagex.core.tenancy import current_schema


class ContactStatus(models.TextChoices):
    SUBSCRIBED = "subscribed", _("Subscribed")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Complained")


# Statuses that must never be turned back into "subscribed" by an import or a form.
SUPPRESSED_STATUSES = frozenset(
    {ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED, ContactStatus.COMPLAINED}
)


# Needed to download contacts' personal data: contact exports, recipient outcome exports.
EXPORT_PERMISSION = "contacts.export_contact"


class ContactQuerySet(models.QuerySet):
    def subscribed(self):
        return self.filter(status=ContactStatus.SUBSCRIBED)

    def reachable(self):
        """Those a campaign can reach: subscribed, and not awaiting confirmation."""
        return self.filter(status=ContactStatus.SUBSCRIBED, awaiting_confirmation=False)


class ContactGroup(models.Model):
    """A list of contacts ("list" to users; "group" in code, as before lists had statuses).

    Each member has a status of its own (`Membership`); a contact's global status always wins.
    """

    class OptIn(models.TextChoices):
        SINGLE = "single", _("Single opt-in: subscribed on sign-up")
        DOUBLE = "double", _("Double opt-in: subscribed once they confirm by email")

    class Visibility(models.TextChoices):
        PRIVATE = "private", _("Private: only your team adds people")
        PUBLIC = "public", _("Public: offered on sign-up forms and in the preference centre")

    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(
        _("public description"),
        max_length=255,
        blank=True,
        help_text=_("What subscribers get; shown on forms and in the preference centre."),
    )
    opt_in = models.CharField(
        _("opt-in"), max_length=10, choices=OptIn.choices, default=OptIn.SINGLE
    )
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("list")
        verbose_name_plural = _("lists")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="contacts_group_name_ci_unique"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC


class MembershipStatus(models.TextChoices):
    UNCONFIRMED = "unconfirmed", _("Unconfirmed")
    SUBSCRIBED = "subscribed", _("Subscribed")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")


class ConsentSource(models.TextChoices):
    FORM = "form", _("Sign-up form")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    CONSOLE = "console", _("Console")
    AUTOMATION = "automation", _("Automation")
    PREFERENCES = "preferences", _("Preference centre")
    MIGRATION = "migration", _("Group before lists had statuses")


# The contacts no campaign reaches: not subscribed, or awaiting confirmation. Exactly the
# predicate of `contact_unreachable_idx`, so a query filtering by it reads that index.
UNREACHABLE_CONTACTS = ~Q(status=ContactStatus.SUBSCRIBED) | Q(awaiting_confirmation=True)


class Contact(models.Model):
    email = models.EmailField(_("email address"), max_length=254)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, blank=True)
    attributes = models.JSONField(
        _("custom attributes"),
        default=dict,
        blank=True,
        help_text=_("Any other columns an import brought in, as name → value."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ContactStatus.choices, default=ContactStatus.SUBSCRIBED
    )
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    status_source = models.CharField(_("status source"), max_length=120, blank=True)
    consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    consent_source = models.CharField(_("consent source"), max_length=120, blank=True)
    soft_bounces = models.PositiveSmallIntegerField(
        _("soft bounces"),
        default=0,
        db_default=0,
        help_text=_("Counted from SendGrid; enough of them suppress."),
    )
    # Unconfirmed memberships only (a double-opt-in sign-up not confirmed yet): no campaign
    # reaches the contact. Kept by triggers on memberships and repaired before each send
    # (migration 0015), never by a save: `save()` leaves it out.
    awaiting_confirmation = models.BooleanField(
        _("awaiting confirmation"), default=False, db_default=False, editable=False
    )
    groups: "models.ManyToManyField[ContactGroup, Membership]" = models.ManyToManyField(
        ContactGroup,
        through="Membership",
        related_name="contacts",
        blank=True,
        verbose_name=_("lists"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-id"]
        # Exporting personal data is a right of its own (roles.role_grants gives it out).
        permissions = [("export_contact", _("Can export contacts"))]
        constraints = [
            # text_pattern_ops serves both equality (uniqueness, upserts) and prefix search.
            models.UniqueConstraint(
                OpClass(Lower("email"), name="text_pattern_ops"),
                name="contacts_contact_email_ci_unique",
                violation_error_message=_("A contact with this email address already exists."),
            ),
        ]
        indexes = [
            models.Index(
                OpClass(Lower("first_name"), name="text_pattern_ops"), name="contact_first_name_idx"
            ),
            models.Index(
                OpClass(Lower("last_name"), name="text_pattern_ops"), name="contact_last_name_idx"
            ),
            # Ascending (contacts 0014): new ids are appended at the end of their status.
            # Descending, each new contact went to the front of its status, splitting pages
            # half-empty (70 MB instead of 39 for 1M, 1 s more to import them); "newest
            # first" reads it backwards.
            models.Index(fields=["status", "id"], name="contact_status_idx"),
            models.Index(fields=["created_at"], name="contact_created_idx"),
            models.Index(
                fields=["id"], condition=Q(awaiting_confirmation=True), name="contact_awaiting_idx"
            ),
            models.Index(
                fields=["id"], condition=UNREACHABLE_CONTACTS, name="contact_unreachable_idx"
            ),
            # Segment conditions: "email domain is …" (typed attributes have their own, made
            # by contacts.services.attributes). With the status and awaiting_confirmation, a
            # segment's count of the contacts a campaign reaches reads the index and (on
            # pages the visibility map marks all-visible) no table rows.
            models.Index(
                Func(
                    Lower("email"),
                    Value("@"),
                    Value(2),
                    function="split_part",
                    output_field=models.CharField(),
                ),
                F("status"),
                F("awaiting_confirmation"),
                name="contact_domain_reach_idx",
            ),
        ]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        # `awaiting_confirmation` belongs to the memberships' triggers: a save of a contact
        # loaded before they changed it must not write it back.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.attname
                for f in self._meta.concrete_fields
                if not f.primary_key and f.attname != "awaiting_confirmation"
            ]
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Membership(models.Model):
    """A contact on a list: its status there and the evidence of consent (GDPR art. 7(1))."""

    # No index of their own: (contact, group) and (group, status, contact) below start with
    # them and serve every lookup by contact or by list, cascades included. Two fewer indexes
    # to write for each membership an import adds.
    # No foreign-key constraints either: PostgreSQL checks those a row at a time (two thirds
    # of what a membership an import adds cost). Triggers (migration contacts 0012) keep the
    # same guarantees, an insert's references checked and locked in one statement.
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("contact"),
        db_index=False,
        db_constraint=False,
    )
    group = models.ForeignKey(
        ContactGroup,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("list"),
        db_index=False,
        db_constraint=False,
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=MembershipStatus.choices,
        default=MembershipStatus.SUBSCRIBED,
        db_default=MembershipStatus.SUBSCRIBED,
    )
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    source = models.CharField(
        _("consent source"),
        max_length=20,
        choices=ConsentSource.choices,
        default=ConsentSource.CONSOLE,
        db_default=ConsentSource.MIGRATION,
    )
    consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    consent_text = models.TextField(
        _("consent text"), blank=True, db_default="", help_text=_("What the person agreed to.")
    )
    consent_ip = models.GenericIPAddressField(_("consent IP address"), null=True, blank=True)
    consent_user_agent = models.CharField(
        _("consent user agent"), max_length=400, blank=True, db_default=""
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    confirm_ip = models.GenericIPAddressField(_("confirmation IP address"), null=True, blank=True)
    confirm_user_agent = models.CharField(
        _("confirmation user agent"), max_length=400, blank=True, db_default=""
    )

    class Meta:
        verbose_name = _("list membership")
        verbose_name_plural = _("list memberships")
        db_table = "contacts_membership"
        constraints = [
            models.UniqueConstraint(fields=["contact", "group"], name="contacts_membership_unique"),
        ]
        indexes = [
            # Audiences and list counts: members of a list by status.
            models.Index(fields=["group", "status", "contact"], name="membership_group_status_idx"),
            # Unconfirmed members only (sign-ups still to confirm): what contacts 0015's
            # triggers and the repair before each send read.
            models.Index(
                fields=["contact"],
                condition=models.Q(status="unconfirmed"),
                name="membership_unconfirmed_idx",
            ),
        ]

    def __str__(self):
        return f"{self.contact} · {self.group}"


class MemberChange(models.Model):
    """A statement that changed a list's members (`group_id`) or whom no campaign reaches
    (`group_id` NULL: a contact's status or confirmation), written by triggers (0016).

    Whoever keeps a list's members between requests (segment counts) asks which changes its
    snapshot did not see (`selectors.member_changes_since`); a change is a row per list and
    statement, so a million-row import adds two rows. `member_changes_prune` deletes the
    rows every snapshot sees and leaves one with `group_id` 0 (`EVERY_LIST`), which tells
    anyone holding an older snapshot that all of it may be stale.
    """

    EVERY_LIST = 0

    group_id = models.BigIntegerField(null=True)
    # pg_current_xact_id() of the transaction that wrote it (xid8, as a number).
    xact = models.BigIntegerField()
    # The contacts whose memberships of the list it changed, when they were 1,000 or fewer.
    contact_ids = ArrayField(models.BigIntegerField(), null=True)

    class Meta:
        db_table = "contacts_memberchange"
        indexes = [models.Index(fields=["xact"], name="memberchange_xact_idx")]

    def __str__(self):
        return f"list {self.group_id} changed in transaction {self.xact}"


class AttributeType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    BOOLEAN = "boolean", _("Yes/no")


class AttributeDefinition(models.Model):
    """The type of one custom attribute in this workspace; values are checked against it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    type = models.CharField(
        _("type"), max_length=10, choices=AttributeType.choices, default=AttributeType.TEXT
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("custom attribute")
        verbose_name_plural = _("custom attributes")
        ordering = ["name"]

    def __str__(self):
        return self.name


def _workspace_path(folder: str, filename: str) -> str:
    """Keep each workspace's files under its own schema name."""
    from django.utils import timezone

    return f"{current_schema()}/{folder}/{timezone.now():%Y/%m}/{filename}"


def import_upload_to(instance, filename):
    return _workspace_path("imports", filename)


def import_report_upload_to(instance, filename):
    return _workspace_path("import-reports", filename)


class ListConsent(models.TextChoices):
    """What an importer says about the consent of the people a file puts on lists."""

    PERMISSION = "permission", _("I have their permission to email them")
    DOUBLE_OPT_IN = "double_opt_in", _("Ask each of them to confirm by email (double opt-in)")


class ConsentSettings(models.Model):
    """The workspace's consent settings (one row per workspace schema)."""

    unconfirmed_expiry_days = models.PositiveSmallIntegerField(
        _("unconfirmed sign-ups expire after (days)"),
        default=30,
        help_text=_("Sign-ups not confirmed by then are deleted with their consent request."),
    )
    preference_fields = models.JSONField(
        _("fields people can edit in the preference centre"),
        default=list,
        blank=True,
        help_text=_("Contact fields and custom attribute names; empty: none."),
    )

    class Meta:
        verbose_name = _("consent settings")
        verbose_name_plural = _("consent settings")

    def __str__(self):
        return str(_("Consent settings"))


class ErasedAddress(models.Model):
    """An address erased at its owner's request: only its hash is kept, so that no import,
    API call or form can bring the person back without their new consent."""

    email_hash = models.CharField(_("address hash"), max_length=64, unique=True)
    erased_at = models.DateTimeField(_("erased"), auto_now_add=True)

    class Meta:
        verbose_name = _("erased address")
        verbose_name_plural = _("erased addresses")

    def __str__(self):
        return self.email_hash[:12]


class ImportJob(models.Model):
    """One spreadsheet import: upload → mapping → dry run → confirm → applied."""

    class Status(models.TextChoices):
        READING = "reading", _("Reading the file")
        MAPPING = "mapping", _("Waiting for column mapping")
        VALIDATING = "validating", _("Validating")
        VALIDATED = "validated", _("Ready to import")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class UnknownColumns(models.TextChoices):
        ATTRIBUTES = "attributes", _("Keep them as custom attributes")
        IGNORE = "ignore", _("Ignore them")

    class FileStatus(models.TextChoices):
        PER_ROW = "", _("As each row says (subscribed unless a column says otherwise)")
        UNSUBSCRIBED = "unsubscribed", _("Everyone in it unsubscribed")
        BOUNCED = "bounced", _("Everyone in it bounced or was cleaned")
        COMPLAINED = "complained", _("Everyone in it marked email as spam")

    # Statuses in which a task (or a request) is working on the job.
    RUNNING = frozenset({Status.READING, Status.VALIDATING, Status.IMPORTING})

    file = models.FileField(upload_to=import_upload_to, verbose_name=_("file"))
    original_name = models.CharField(max_length=255, verbose_name=_("original name"))
    file_format = models.CharField(max_length=10, verbose_name=_("file format"))
    file_size = models.BigIntegerField(default=0, verbose_name=_("file size"))
    encoding = models.CharField(max_length=20, blank=True, verbose_name=_("encoding"))
    delimiter = models.CharField(max_length=4, blank=True, verbose_name=_("delimiter"))
    unpacked_size = models.BigIntegerField(
        default=0,
        help_text=_("Bytes the parser reads (an .xlsx unpacked); decides where it runs."),
        verbose_name=_("unpacked size"),
    )
    has_header = models.BooleanField(default=True, verbose_name=_("has header"))
    headers = models.JSONField(default=list, verbose_name=_("headers"))
    sample_rows = models.JSONField(default=list, verbose_name=_("sample rows"))
    estimated_rows = models.PositiveIntegerField(default=0, verbose_name=_("estimated rows"))
    mapping = models.JSONField(
        default=dict,
        help_text=_("header index → field name, 'attribute' or ''"),
        verbose_name=_("mapping"),
    )
    unknown_columns = models.CharField(
        max_length=20,
        choices=UnknownColumns.choices,
        default=UnknownColumns.ATTRIBUTES,
        verbose_name=_("unknown columns"),
    )
    update_existing = models.BooleanField(
        default=True,
        help_text=_("Update contacts that already exist; otherwise leave them as they are."),
        verbose_name=_("update existing"),
    )
    file_status = models.CharField(
        _("everyone in this file"),
        max_length=20,
        blank=True,
        choices=FileStatus.choices,
        default=FileStatus.PER_ROW,
    )
    target_groups = models.ManyToManyField(
        ContactGroup, blank=True, related_name="import_jobs", verbose_name=_("target lists")
    )
    list_consent = models.CharField(
        _("consent for the lists"),
        max_length=20,
        blank=True,
        choices=ListConsent.choices,
        default="",
        help_text=_("How the people in the file agreed to be on the chosen lists."),
    )
    list_consent_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("permission confirmed by"),
    )
    list_consent_at = models.DateTimeField(_("consent choice made"), null=True, blank=True)
    list_consent_text = models.TextField(
        _("consent choice as shown"),
        blank=True,
        default="",
        help_text=_("The words of the choice the importer made, as they read them."),
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.MAPPING, verbose_name=_("status")
    )
    background = models.BooleanField(default=False, verbose_name=_("background"))
    unattended = models.BooleanField(
        default=False,
        help_text=_("Applied right after its dry run, with no one to confirm (API)."),
        verbose_name=_("unattended"),
    )
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When a task last reported progress on the job, or queued it."),
        verbose_name=_("heartbeat at"),
    )
    attempts = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("Runs started since the job last made lasting progress."),
        verbose_name=_("attempts"),
    )
    failed_status = models.CharField(max_length=20, blank=True, verbose_name=_("failed status"))
    phase = models.CharField(max_length=40, blank=True, verbose_name=_("phase"))
    processed_rows = models.PositiveIntegerField(default=0, verbose_name=_("processed rows"))
    total_rows = models.PositiveIntegerField(default=0, verbose_name=_("total rows"))
    applied_through_row = models.PositiveIntegerField(
        default=0, verbose_name=_("applied through row")
    )
    counts = models.JSONField(default=dict, blank=True, verbose_name=_("counts"))
    error_message = models.TextField(blank=True, verbose_name=_("error message"))
    error_report = models.FileField(
        upload_to=import_report_upload_to, blank=True, verbose_name=_("error report")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def stage_table(self) -> str:
        return f"contacts_import_stage_{self.pk}"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING
