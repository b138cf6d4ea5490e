"""Unfold's own messages, so that `makemessages` copies them into our catalogue.

Unfold (the console's theme) ships no Spanish or German translations, and these messages
are not in Django's: without this list its search box, filters, empty pages, theme switch
and file inputs stay English on es/de pages. Each msgid is exactly as unfold's templates or
code spell it (tests/core/test_translations.py checks they still exist there, so an unfold
upgrade that renames one fails instead of quietly going English again). Messages of unfold
features the console does not use (guardian, constance, simple history) are left out.
"""

from django.utils.translation import gettext_noop

UNFOLD_MESSAGES = (
    # Shown by unfold's admin.py
    gettext_noop("Select record"),
    gettext_noop("Select action"),
    # Shown by unfold's contrib/filters/forms.py
    gettext_noop("From"),
    gettext_noop("To"),
    gettext_noop("Date from"),
    gettext_noop("Date to"),
    # Shown by unfold's contrib/filters/templates/unfold/filters/filters_numeric_slider.html
    gettext_noop("Not enough data."),
    # Shown by unfold's contrib/forms/templates/unfold/forms/array.html
    gettext_noop("Add new item"),
    # Shown by unfold's contrib/forms/templates/unfold/forms/helpers/toolbar.html
    gettext_noop("Paragraph"),
    gettext_noop("Underlined"),
    gettext_noop("Bold"),
    gettext_noop("Italic"),
    gettext_noop("Strike"),
    gettext_noop("Link"),
    gettext_noop("Heading"),
    gettext_noop("Quote"),
    gettext_noop("Unordered list"),
    gettext_noop("Ordered list"),
    gettext_noop("Indent increase"),
    gettext_noop("Indent decrease"),
    gettext_noop("Undo"),
    gettext_noop("Redo"),
    gettext_noop("Enter an URL"),
    gettext_noop("Unlink"),
    # Shown by unfold's contrib/import_export/forms.py
    gettext_noop("Select format"),
    # Shown by unfold's import_export/change_form.html
    gettext_noop("Export"),
    # Shown by unfold's import_export/change_list_import_item.html
    gettext_noop("Import"),
    # Shown by unfold's import_export/export.html
    gettext_noop("This exporter will export the following fields"),
    gettext_noop("Submit"),
    # Shown by unfold's import_export/import_confirm.html
    gettext_noop(
        "Below is a preview of data to be imported. If you are satisfied with the results, "
        "click 'Confirm import'"
    ),
    gettext_noop("Confirm import"),
    # Shown by unfold's import_export/import_errors.html
    gettext_noop("Line number"),
    gettext_noop("View traceback"),
    # Shown by unfold's import_export/import_preview.html
    gettext_noop("New"),
    gettext_noop("Skipped"),
    gettext_noop("Update"),
    # Shown by unfold's import_export/import_validation.html
    gettext_noop("Some rows failed to validate"),
    gettext_noop(
        "Please correct these errors in your data where possible, then reupload it using the "
        "form above."
    ),
    gettext_noop("Row"),
    gettext_noop("Non field specific"),
    # Shown by unfold's import_export/resource_fields_list.html
    gettext_noop("This exporter will export the following fields: "),
    gettext_noop("This importer will import the following fields: "),
    # Shown by unfold's forms.py
    gettext_noop(
        "Raw passwords are not stored, so there is no way to see this user’s password, but "
        'you can change the password using <a href="{}" class="text-primary-600 dark:text-'
        'primary-500">this form</a>.'
    ),
    gettext_noop("Select action to run"),
    # Shown by unfold's mixins/base_model_admin.py
    gettext_noop("Select value"),
    # Shown by unfold's templates/admin/actions.html
    gettext_noop("Run"),
    # Shown by unfold's templates/admin/auth/user/add_form.html
    gettext_noop("After you've created a user, you’ll be able to edit more user options."),
    # Shown by unfold's templates/admin/change_list_results.html
    gettext_noop("Expand row"),
    # Shown by unfold's templates/admin/login.html
    gettext_noop("Welcome back to"),
    gettext_noop("Forgotten your password or username?"),
    # Shown by unfold's templates/admin/search_form.html
    gettext_noop("Type to search"),
    # Shown by unfold's templates/registration/logged_out.html
    gettext_noop("You have been successfully logged out from the administration"),
    # Shown by unfold's templates/unfold/components/table.html
    gettext_noop("No data"),
    # Shown by unfold's templates/unfold/helpers/actions_row.html
    gettext_noop("More actions"),
    # Shown by unfold's templates/unfold/helpers/app_list_all.html
    gettext_noop("All applications"),
    # Shown by unfold's templates/unfold/helpers/boolean.html
    gettext_noop("True"),
    gettext_noop("False"),
    # Shown by unfold's templates/unfold/helpers/change_list_filter_actions.html
    gettext_noop("Apply Filters"),
    # Shown by unfold's templates/unfold/helpers/change_list_headers.html
    gettext_noop("Select all rows"),
    # Shown by unfold's templates/unfold/helpers/command_history.html
    gettext_noop("Recent searches"),
    gettext_noop("No recent searches"),
    # Shown by unfold's templates/unfold/helpers/command_results.html
    gettext_noop("No results matching your query"),
    gettext_noop("Loading more results..."),
    # Shown by unfold's templates/unfold/helpers/display_header.html
    gettext_noop("Record picture"),
    # Shown by unfold's templates/unfold/helpers/edit_inline/inline_delete_undo.html
    gettext_noop("This item will be deleted."),
    gettext_noop("Click to cancel"),
    # Shown by unfold's templates/unfold/helpers/empty_results.html
    gettext_noop("No results found"),
    gettext_noop("This page yielded into no results. Create a new item or reset your filters."),
    gettext_noop("Reset filters"),
    # Shown by unfold's templates/unfold/helpers/field_readonly_value_file.html
    gettext_noop("Image preview"),
    gettext_noop("Click to download"),
    # Shown by unfold's templates/unfold/helpers/header_back_button.html
    gettext_noop("Go back"),
    # Shown by unfold's templates/unfold/helpers/pagination_infinite.html
    gettext_noop("Previous"),
    gettext_noop("Next"),
    # Shown by unfold's templates/unfold/helpers/search.html
    gettext_noop("Search apps and models..."),
    # Shown by unfold's templates/unfold/helpers/tab_items.html
    gettext_noop("General"),
    # Shown by unfold's templates/unfold/helpers/theme_switch.html
    gettext_noop("Light"),
    gettext_noop("Dark"),
    gettext_noop("System"),
    # Shown by unfold's templates/unfold/helpers/unauthenticated_header.html
    gettext_noop("Return to site"),
    # Shown by unfold's templates/unfold/widgets/clearable_file_input.html
    gettext_noop("Choose file to upload"),
    # Shown by unfold's templates/unfold/widgets/password_toggle.html
    gettext_noop("Toggle password visibility"),
    # Shown by unfold's templatetags/unfold.py
    gettext_noop("Welcome"),
    # Shown by unfold's widgets.py
    gettext_noop("Date"),
    gettext_noop("Select currency"),
)
