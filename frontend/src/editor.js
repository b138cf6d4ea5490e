// EngageX visual email editor: GrapesJS + grapesjs-mjml on the template change page.
//
// The Django widget (engagex/email_templates/widgets.py) renders, per editor:
//   <div data-engagex-editor data-config="<id of a json_script>">
//     <textarea name="design" hidden>…GrapesJS project JSON…</textarea>
//     <div data-editor-notice hidden></div> <div data-editor-canvas></div>
//   </div>
// and the JSON config: {config: editor_config(request, template), locale, strings, readonly,
// fields: {mode, mjml}}. Every text a person reads comes from `strings` (gettext on the
// server) or from GrapesJS' own es/de catalogues; nothing here is English-only.
//
// No inline script and no eval of our own: the console's CSP allows scripts from 'self' only.
import grapesjs from "grapesjs";
import gjsDe from "grapesjs/locale/de.mjs";
import gjsEs from "grapesjs/locale/es.mjs";
import mjmlPlugin from "grapesjs-mjml";
import mjmlDe from "grapesjs-mjml/locale/de.js";
import mjmlEs from "grapesjs-mjml/locale/es.js";
import "grapesjs/dist/css/grapes.min.css";
import "./editor.css";

const READY_EVENT = "engagex:editor-ready";
const DARK_CLASS = "engagex-dark-preview";
// How mail apps that force a dark theme (Gmail and Outlook apps) darken an email that does
// not ship its own dark styles: a full inversion that keeps hues, images left as they are.
const DARK_CSS = `
  html.${DARK_CLASS} { filter: invert(1) hue-rotate(180deg); background: #fff; }
  html.${DARK_CLASS} img { filter: invert(1) hue-rotate(180deg); }
`;
const PLACEHOLDER_IMAGE = svgData(
  '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300" viewBox="0 0 600 300">' +
    '<rect width="600" height="300" fill="#e5e7eb"/>' +
    '<path d="M230 200l50-60 40 45 30-35 60 50z" fill="#9ca3af"/>' +
    '<circle cx="250" cy="110" r="20" fill="#9ca3af"/></svg>',
);
const VIDEO_THUMBNAIL = svgData(
  '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="338" viewBox="0 0 600 338">' +
    '<rect width="600" height="338" fill="#111827"/>' +
    '<circle cx="300" cy="169" r="44" fill="#fff" fill-opacity=".9"/>' +
    '<path d="M287 146v46l38-23z" fill="#111827"/></svg>',
);
const MERGE_TAG_ICON =
  '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" ' +
  'd="M8 3a2 2 0 0 0-2 2v4a2 2 0 0 1-2 2H3v2h1a2 2 0 0 1 2 2v4a2 2 0 0 0 2 2h2v-2H8v-5a2 2 0 ' +
  '0 0-2-2 2 2 0 0 0 2-2V5h2V3H8m8 0a2 2 0 0 1 2 2v4a2 2 0 0 0 2 2h1v2h-1a2 2 0 0 0-2 2v4a2 2 ' +
  '0 0 1-2 2h-2v-2h2v-5a2 2 0 0 1 2-2 2 2 0 0 1-2-2V5h-2V3h2z"/></svg>';
const DARK_ICON =
  '<svg viewBox="0 0 24 24" style="display:block;max-width:22px" aria-hidden="true"><path ' +
  'fill="currentColor" d="M12 3a9 9 0 1 0 9 9c0-.46-.04-.92-.1-1.36a5.39 5.39 0 0 1-4.4 ' +
  '2.26 5.4 5.4 0 0 1-3.14-9.8c-.44-.06-.9-.1-1.36-.1z"/></svg>';

// GrapesJS' own panel buttons name Font Awesome classes; the console loads no icon font
// (and its CSP no stylesheet from a CDN), so they get inline SVG instead.
const PANEL_ICONS = {
  "sw-visibility": "M5 3h2v2H5zm4 0h2v2H9zm4 0h2v2h-2zm4 0h2v2h-2zM3 5h2v2H3zm16 0h2v2h-2zM3 9h2v2H3zm16 0h2v2h-2zM3 13h2v2H3zm16 0h2v2h-2zM3 17h2v2H3zm16 0h2v2h-2zM5 19h2v2H5zm4 0h2v2H9zm4 0h2v2h-2zm4 0h2v2h-2z",
  preview: "M12 4.5C7 4.5 2.73 7.61 1 12c1.73 4.39 6 7.5 11 7.5s9.27-3.11 11-7.5c-1.73-4.39-6-7.5-11-7.5M12 17a5 5 0 1 1 0-10 5 5 0 0 1 0 10m0-8a3 3 0 1 0 0 6 3 3 0 0 0 0-6z",
  fullscreen: "M5 5h5v2H7v3H5V5m9 0h5v5h-2V7h-3V5m3 9h2v5h-5v-2h3v-3m-7 3v2H5v-5h2v3h3z",
  "export-template": "M14.6 16.6l4.6-4.6-4.6-4.6L16 6l6 6-6 6-1.4-1.4m-5.2 0L4.8 12l4.6-4.6L8 6l-6 6 6 6 1.4-1.4z",
  "open-sm": "M20.71 4.63l-1.34-1.34a1 1 0 0 0-1.41 0L9 12.25 11.75 15l8.96-8.96a1 1 0 0 0 0-1.41M7 14a3 3 0 0 0-3 3c0 1.31-1.16 2-2 2 .92 1.22 2.49 2 4 2a4 4 0 0 0 4-4 3 3 0 0 0-3-3z",
  "open-tm": "M12 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7m7.43-2.53c.04-.32.07-.64.07-.97s-.03-.66-.07-1l2.11-1.63a.5.5 0 0 0 .12-.64l-2-3.46a.5.5 0 0 0-.61-.22l-2.49 1c-.52-.39-1.06-.73-1.69-.98l-.37-2.65A.5.5 0 0 0 14 2h-4a.5.5 0 0 0-.5.42l-.37 2.65c-.63.25-1.17.59-1.69.98l-2.49-1a.5.5 0 0 0-.61.22l-2 3.46a.5.5 0 0 0 .12.64L4.57 11c-.04.34-.07.67-.07 1s.03.65.07.97l-2.11 1.66a.5.5 0 0 0-.12.64l2 3.46c.12.22.39.3.61.22l2.49-1.01c.52.4 1.06.74 1.69.99l.37 2.65c.04.24.25.42.5.42h4c.25 0 .46-.18.5-.42l.37-2.65c.63-.26 1.17-.59 1.69-.99l2.49 1.01c.22.08.49 0 .61-.22l2-3.46a.5.5 0 0 0-.12-.64z",
  "open-layers": "M12 16l7.36-5.73L21 9l-9-7-9 7 1.63 1.27M12 18.54l-7.38-5.73L3 14.07l9 7 9-7-1.63-1.27L12 18.54z",
  "open-blocks": "M3 3h8v8H3V3m10 0h8v8h-8V3M3 13h8v8H3v-8m10 0h8v8h-8v-8z",
};

function svgData(svg) {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

function escapeHtml(text) {
  return String(text ?? "").replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch],
  );
}

/**
 * MJML as GrapesJS' HTML parser reads it: `<mj-all … />` written `<mj-all …></mj-all>`.
 * The parser knows no self-closing custom elements, so it would nest everything after
 * one (an `<mj-attributes>` block would swallow the rest of the head).
 */
export function openSelfClosing(mjml) {
  return String(mjml).replace(/<(mj-[a-z-]+)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*\/>/g, "<$1$2></$1>");
}

// --- configuration ------------------------------------------------------------------------
/** The brand kit (editor_config.brand) with defaults for anything left empty. */
export function brandKit(config) {
  const brand = config.brand || {};
  return {
    logo: brand.logo_url || "",
    name: brand.name || "{{ workspace.name }}",
    primary: brand.primary_colour || "#4f46e5",
    text: brand.text_colour || "#1f2937",
    background: brand.background_colour || "#ffffff",
    muted: "#6b7280",
    font: brand.font_family || "Helvetica, Arial, sans-serif",
    address: brand.footer_address || "",
  };
}

/** Merge tags as {label, tag}, the tag always written `{{ … }}`. */
export function mergeTags(config) {
  return (config.merge_tags || []).map((item) => {
    const raw = String(item.tag || item.value || "").trim();
    const tag = raw.startsWith("{{") ? raw : `{{ ${raw} }}`;
    return { label: item.label || raw, tag, group: item.group || "" };
  });
}

function footerTags(config) {
  const tags = config.required_footer_tags || config.footer_tags || ["unsubscribe_url"];
  return tags.map((tag) => String(tag).replace(/[{}\s]/g, ""));
}

// --- blocks -------------------------------------------------------------------------------
const ICONS = {
  text: "M18.5 4l1.16 4.35-.96.26c-.45-.87-.91-1.74-1.44-2.18C16.73 6 16.11 6 15.5 6H13v10.5c0 .5 0 1 .33 1.25.34.25 1 .25 1.67.25v1H9v-1c.67 0 1.33 0 1.67-.25.33-.25.33-.75.33-1.25V6H8.5c-.61 0-1.23 0-1.76.43-.53.44-.99 1.31-1.44 2.18l-.96-.26L5.5 4h13z",
  heading: "M5 4v3h5.5v12h3V7H19V4z",
  image: "M21 3H3C2 3 1 4 1 5v14a2 2 0 0 0 2 2h18c1 0 2-1 2-2V5c0-1-1-2-2-2M5 17l3.5-4.5 2.5 3 3.5-4.5 4.5 6H5z",
  button: "M20 6H4a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V8a2 2 0 0 0-2-2m0 10H4V8h16v8M6 11h12v2H6z",
  col1: "M2 20h20V4H2v16zm-1 0V4a1 1 0 0 1 1-1h20a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1H2a1 1 0 0 1-1-1z",
  col2: "M2 20h8V4H2v16zm-1 0V4a1 1 0 0 1 1-1h8a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1H2a1 1 0 0 1-1-1zm12 0h8V4h-8v16zm-1 0V4a1 1 0 0 1 1-1h8a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1h-8a1 1 0 0 1-1-1z",
  col3: "M2 20h4V4H2v16zm-1 0V4a1 1 0 0 1 1-1h4a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1H2a1 1 0 0 1-1-1zm16 0h4V4h-4v16zm-1 0V4a1 1 0 0 1 1-1h4a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1h-4a1 1 0 0 1-1-1zm-6.5 0h4V4h-4v16zm-1 0V4a1 1 0 0 1 1-1h4a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1h-4a1 1 0 0 1-1-1z",
  divider: "M3 11h18v2H3z",
  spacer: "M8 18h3v-3h2v3h3l-4 4-4-4m8-12h-3v3h-2V6H8l4-4 4 4M4 11h16v2H4z",
  social: "M18 16.08c-.76 0-1.44.3-1.96.77L8.91 12.7c.05-.23.09-.46.09-.7s-.04-.47-.09-.7l7.05-4.11c.54.5 1.25.81 2.04.81a3 3 0 1 0-3-3c0 .24.04.47.09.7L8.04 9.81C7.5 9.31 6.79 9 6 9a3 3 0 1 0 0 6c.79 0 1.5-.31 2.04-.81l7.12 4.15c-.05.21-.08.43-.08.66A2.92 2.92 0 1 0 18 16.08z",
  video: "M10 16.5l6-4.5-6-4.5v9zM12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16z",
  footer: "M3 3h18v18H3V3m2 2v10h14V5H5m0 12v2h14v-2H5z",
  header: "M3 3h18v18H3V3m2 6v10h14V9H5m0-4v2h14V5H5z",
};

function icon(name) {
  return `<svg viewBox="0 0 24 24"><path fill="currentColor" d="${ICONS[name]}"/></svg>`;
}

function footerMjml(brand, strings, config) {
  const labels = strings.footer_links || {};
  const links = footerTags(config)
    .map(
      (name) =>
        `<a href="{{ ${name} }}" style="color:${brand.muted};text-decoration:underline;">${escapeHtml(
          labels[name] || name,
        )}</a>`,
    )
    .join(" · ");
  const address = brand.address
    ? `${escapeHtml(brand.address).replace(/\n/g, "<br>")}<br><br>`
    : "";
  return (
    `<mj-section padding="16px 0"><mj-column>` +
    `<mj-text align="center" font-size="12px" line-height="1.5" color="${brand.muted}" ` +
    `font-family="${escapeHtml(brand.font)}">${address}${escapeHtml(strings.footer_reason)}<br>${links}` +
    `</mj-text></mj-column></mj-section>`
  );
}

export function blockDefinitions(brand, strings, config) {
  const font = escapeHtml(brand.font);
  const text = (content, extra = "") =>
    `<mj-text font-family="${font}" color="${brand.text}" font-size="15px" line-height="1.5"${extra}>${content}</mj-text>`;
  const column = (count) =>
    `<mj-section>${Array.from({ length: count }, (_, i) =>
      `<mj-column>${text(escapeHtml(strings.column_text.replace("%(number)s", i + 1)))}</mj-column>`,
    ).join("")}</mj-section>`;
  const content = strings.categories.content;
  const layout = strings.categories.layout;
  const blocks = [
    ["engagex-heading", "heading", content, text(
      `<h1 style="margin:0;font-size:28px;line-height:1.25;font-weight:700;">${escapeHtml(strings.heading_text)}</h1>`,
    ), { activate: true }],
    ["engagex-text", "text", content, text(escapeHtml(strings.text_text)), { activate: true }],
    ["engagex-image", "image", content,
      `<mj-image src="${PLACEHOLDER_IMAGE}" alt="" padding="10px 25px" />`, { activate: true }],
    ["engagex-button", "button", content,
      `<mj-button href="https://" background-color="${brand.primary}" color="#ffffff" ` +
      `font-family="${font}" font-size="15px" border-radius="4px" inner-padding="12px 24px">` +
      `${escapeHtml(strings.button_text)}</mj-button>`, {}],
    ["engagex-divider", "divider", content,
      `<mj-divider border-color="${brand.muted}" border-width="1px" padding="16px 25px" />`, {}],
    ["engagex-spacer", "spacer", content, `<mj-spacer height="24px" />`, {}],
    ["engagex-social", "social", content,
      `<mj-social font-family="${font}" font-size="13px" icon-size="24px" mode="horizontal" color="${brand.text}">` +
      ["facebook", "instagram", "linkedin", "x"].map((net) =>
        `<mj-social-element name="${net}" href="https://">${escapeHtml(strings.social_names[net] || net)}</mj-social-element>`,
      ).join("") + `</mj-social>`, {}],
    ["engagex-video", "video", content,
      `<mj-image src="${VIDEO_THUMBNAIL}" href="https://" alt="${escapeHtml(strings.video_alt)}" padding="10px 25px" />`,
      {}],
    ["engagex-header", "header", layout,
      `<mj-section padding="20px 0"><mj-column>` +
      (brand.logo
        ? `<mj-image src="${escapeHtml(brand.logo)}" alt="${escapeHtml(brand.name)}" width="140px" />`
        : text(`<strong>${escapeHtml(brand.name)}</strong>`, ' align="center" font-size="20px"')) +
      `</mj-column></mj-section>`, {}],
    ["engagex-columns-1", "col1", layout, column(1), {}],
    ["engagex-columns-2", "col2", layout, column(2), {}],
    ["engagex-columns-3", "col3", layout, column(3), {}],
    ["engagex-footer", "footer", layout, footerMjml(brand, strings, config), {}],
  ];
  return blocks.map(([id, name, category, mjml, extra]) => ({
    id,
    label: strings.blocks[name],
    category,
    media: icon(name),
    content: openSelfClosing(mjml),
    attributes: { "data-block": id },
    ...extra,
  }));
}

/** A new design: the brand's background, one text section and the required footer. */
export function starterMjml(brand, strings, config) {
  return (
    `<mjml><mj-body background-color="${brand.background}" width="600px">` +
    `<mj-section><mj-column><mj-text font-family="${escapeHtml(brand.font)}" color="${brand.text}" ` +
    `font-size="15px" line-height="1.5">${escapeHtml(strings.text_text)}</mj-text></mj-column></mj-section>` +
    `${footerMjml(brand, strings, config)}</mj-body></mjml>`
  );
}

// --- the page -----------------------------------------------------------------------------
function fieldOf(form, name) {
  return name ? form?.elements.namedItem(name) : null;
}

/** The change form's line for a field (unfold: `.field-line.field-<name>`). */
function lineOf(form, name) {
  return form?.querySelector(`.field-${name}`) || fieldOf(form, name)?.closest(".field-line");
}

function setLineVisible(line, visible) {
  if (!line) return;
  line.hidden = !visible;
  const row = line.closest(".field-row");
  if (row) row.hidden = ![...row.querySelectorAll(".field-line")].some((l) => !l.hidden);
}

/**
 * `<mj-attributes>` (defaults for the whole email) is not content: without a type of its
 * own, its `<mj-button>`/`<mj-section>` defaults would show (and be draggable) in the
 * canvas. It is kept as it is and exported unchanged, but never drawn.
 */
function hideHeadAttributes(editor) {
  const hidden = {
    draggable: false, droppable: false, selectable: false, hoverable: false,
    highlightable: false, layerable: false, copyable: false, removable: false,
    editable: false, stylable: false, badgable: false,
  };
  editor.Components.addType("mj-attributes", {
    isComponent: (el) => el.tagName?.toLowerCase() === "mj-attributes",
    model: { defaults: { ...hidden, tagName: "mj-attributes" } },
    view: {
      render() {
        this.el.style.display = "none";
        return this;
      },
    },
  });
}

class VisualEditor {
  constructor(root) {
    this.root = root;
    const settings = JSON.parse(document.getElementById(root.dataset.config).textContent);
    this.settings = settings;
    this.config = settings.config || {};
    this.strings = settings.strings;
    this.readonly = Boolean(settings.readonly);
    this.brand = brandKit(this.config);
    this.form = root.closest("form");
    this.designField = root.querySelector("textarea[data-design]");
    this.mjmlField = fieldOf(this.form, settings.fields?.mjml);
    this.modeField = fieldOf(this.form, settings.fields?.mode);
    this.notice = root.querySelector("[data-editor-notice]");
    this.editor = null;
    this.mode = this.modeField ? this.modeField.value : settings.mode || "visual";
  }

  start() {
    if (this.modeField) {
      this.modeField.addEventListener("change", () => this.onModeChange());
    }
    this.showMode(this.mode);
    if (this.form && !this.readonly) {
      this.form.addEventListener("submit", (event) => this.onSubmit(event));
    }
  }

  showMode(mode) {
    if (this.readonly) {
      this.mount();
      return;
    }
    const { fields = {} } = this.settings;
    setLineVisible(lineOf(this.form, fields.html), mode === "html");
    setLineVisible(lineOf(this.form, fields.mjml), mode === "mjml");
    setLineVisible(lineOf(this.form, fields.design) || this.root, mode === "visual");
    this.root.hidden = mode !== "visual";
    if (mode === "visual") this.mount();
  }

  onModeChange() {
    const next = this.modeField.value;
    const previous = this.mode;
    if (previous === next) return;
    if (previous === "visual" && this.editor && !window.confirm(this.strings.leave_visual)) {
      this.modeField.value = previous;
      return;
    }
    if (previous === "visual" && this.editor) {
      if (this.mjmlField) this.mjmlField.value = this.editor.getHtml(); // code mode starts here
      this.designField.value = ""; // saved in another mode, the design is dropped (as warned)
    }
    if (next === "visual" && this.editor && this.mjmlField?.value.trim()) {
      this.editor.setComponents(openSelfClosing(this.mjmlField.value)); // code edits win
    }
    this.mode = next;
    this.showMode(next);
  }

  /** A text still being typed in is synced (GrapesJS does it asynchronously) before saving. */
  onSubmit(event) {
    if (!this.editor || this.mode !== "visual") return;
    const view = this.editor.getEditing()?.getView?.();
    if (view?.disableEditing && !this.syncing) {
      event.preventDefault();
      this.syncing = true;
      Promise.resolve(view.disableEditing())
        .catch(() => {})
        .then(() => {
          this.writeFields();
          this.form.requestSubmit(event.submitter || undefined);
          this.syncing = false;
        });
      return;
    }
    this.writeFields();
  }

  writeFields() {
    if (!this.editor || this.mode !== "visual") return;
    this.designField.value = JSON.stringify(this.editor.getProjectData());
    if (this.mjmlField) this.mjmlField.value = this.editor.getHtml();
  }

  say(message, level = "error") {
    if (!this.notice) return;
    this.notice.textContent = message;
    this.notice.dataset.level = level;
    this.notice.hidden = !message;
  }

  /**
   * What to open: the saved design (of a template saved in the visual editor), else the
   * MJML source (a template saved as MJML code opens from its code), else a starter.
   */
  initialContent() {
    const savedVisual = (this.settings.mode || "visual") === "visual";
    const design = savedVisual ? this.designField?.value.trim() : "";
    if (design && design !== "{}" && design !== "null") {
      try {
        const data = JSON.parse(design);
        if (data && typeof data === "object" && Array.isArray(data.pages)) {
          return { projectData: data };
        }
      } catch (error) {
        // falls through to the MJML source
      }
      this.say(this.strings.design_unreadable, "warning");
    }
    const mjml = (this.mjmlField ? this.mjmlField.value : this.settings.mjml || "").trim();
    if (mjml) return { components: openSelfClosing(mjml) };
    return { components: openSelfClosing(starterMjml(this.brand, this.strings, this.config)) };
  }

  mount() {
    if (this.editor) return;
    const started = performance.now();
    const { strings, config } = this;
    const canvas = this.root.querySelector("[data-editor-canvas]");
    const csrf = this.form?.querySelector("[name=csrfmiddlewaretoken]")?.value || "";
    const locale = ["es", "de"].includes(this.settings.locale) ? this.settings.locale : "en";
    const editor = grapesjs.init({
      container: canvas,
      height: "78vh",
      width: "auto",
      storageManager: false, // the form is the storage: nothing in localStorage
      cssIcons: "", // not Font Awesome from a CDN (see PANEL_ICONS)
      telemetry: false, // GrapesJS would post usage to app.grapesjs.com (and CSP refuses it)
      autorender: false,
      ...this.initialContent(),
      i18n: { locale, localeFallback: "en", detectLocale: false, messages: { es: gjsEs, de: gjsDe } },
      assetManager: {
        upload: this.readonly || config.can_upload === false ? "" : config.upload_url || "",
        dropzone: false,
        uploadName: "files",
        multiUploadSuffix: "",
        headers: { "X-CSRFToken": csrf },
        credentials: "same-origin",
        embedAsBase64: false,
        autoAdd: true,
        assets: [],
      },
      plugins: [
        (ed) =>
          mjmlPlugin(ed, {
            blocks: [],
            imagePlaceholderSrc: PLACEHOLDER_IMAGE,
            i18n: { es: mjmlEs, de: mjmlDe },
            // No web-font <link>s: the canvas may load styles from our own origin only.
            fonts: {},
          }),
        (ed) => hideHeadAttributes(ed), // before the content is parsed
      ],
    });
    this.editor = editor;
    window.engagexEditor = editor;
    this.addBlocks();
    this.addMergeTags();
    this.addDarkPreview();
    this.watchUploads();
    this.replacePanelIcons();
    editor.render();
    if (config.can_upload === false) this.root.classList.add("engagex-editor--no-upload");
    if (!this.readonly) this.followChanges();
    editor.onReady(() => {
      if (this.readonly) this.makeReadonly();
      else editor.Panels.getButton("views", "open-blocks")?.set("active", true);
      this.loadLibrary();
      this.root.dataset.ready = "true";
      const ms = performance.now() - started;
      window.engagexEditorReady = { at: performance.now(), ms };
      document.dispatchEvent(new CustomEvent(READY_EVENT, { detail: { editor, ms } }));
    });
  }

  /** The MJML field follows the design (so the page's live preview can follow it too). */
  followChanges() {
    let timer = null;
    this.editor.on("update", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (this.mode !== "visual" || !this.mjmlField) return;
        this.mjmlField.value = this.editor.getHtml();
        this.mjmlField.dispatchEvent(new Event("input", { bubbles: true }));
      }, 500);
    });
  }

  replacePanelIcons() {
    this.editor.Panels.getPanels().forEach((panel) =>
      panel.get("buttons").forEach((button) => {
        const path = PANEL_ICONS[button.id];
        if (path && String(button.get("className") || "").includes("fa ")) {
          button.set({
            className: "",
            label: `<svg viewBox="0 0 24 24" style="display:block;max-width:22px" aria-hidden="true"><path fill="currentColor" d="${path}"/></svg>`,
          });
        }
      }),
    );
  }

  addBlocks() {
    const blocks = this.editor.Blocks;
    blocks.getAll().reset();
    if (this.readonly) return;
    blockDefinitions(this.brand, this.strings, this.config).forEach((block) =>
      blocks.add(block.id, block),
    );
  }

  /** A merge-tag menu in the text toolbar: inserts `{{ contact.first_name }}` at the caret. */
  addMergeTags() {
    const tags = mergeTags(this.config);
    if (!tags.length || this.readonly) return;
    const options = tags
      .map((t) => `<option value="${escapeHtml(t.tag)}">${escapeHtml(t.label)}</option>`)
      .join("");
    this.editor.RichTextEditor.add("engagex-merge-tag", {
      icon:
        `<span class="engagex-merge-tag">${MERGE_TAG_ICON}<select data-merge-tag aria-label="${escapeHtml(
          this.strings.merge_tag,
        )}"><option value="">${escapeHtml(this.strings.merge_tag)}</option>${options}</select></span>`,
      attributes: { title: this.strings.merge_tag },
      event: "change",
      result: (rte, action) => {
        const select = action.btn.querySelector("select");
        if (select.value) rte.insertHTML(rte.doc.createTextNode(select.value));
        select.value = "";
      },
    });
  }

  addDarkPreview() {
    const { editor, strings } = this;
    const toggle = (on) => {
      const doc = editor.Canvas.getDocument();
      if (!doc) return;
      if (!doc.getElementById("engagex-dark-css")) {
        const style = doc.createElement("style");
        style.id = "engagex-dark-css";
        style.textContent = DARK_CSS;
        doc.head.appendChild(style);
      }
      doc.documentElement.classList.toggle(DARK_CLASS, on);
      this.root.classList.toggle("engagex-editor--dark", on);
    };
    editor.Commands.add("engagex:dark-preview", {
      run: () => toggle(true),
      stop: () => toggle(false),
    });
    editor.Panels.addButton("options", {
      id: "engagex-dark-preview",
      command: "engagex:dark-preview",
      togglable: true,
      attributes: { title: strings.dark_preview, "data-dark-preview": "" },
      label: DARK_ICON,
    });
  }

  watchUploads() {
    const { editor, strings } = this;
    editor.on("asset:upload:start", () => this.say(strings.uploading, "info"));
    editor.on("asset:upload:end", () => {
      if (this.notice?.dataset.level === "info") this.say("");
    });
    editor.on("asset:upload:error", (error) => {
      let message = strings.upload_failed;
      try {
        const body = typeof error === "string" ? JSON.parse(error) : error;
        if (body?.error) message = body.error;
      } catch (e) {
        // not JSON: keep the general message
      }
      this.say(message, "error");
    });
  }

  async loadLibrary() {
    const url = this.config.library_url;
    if (!url) return;
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      const body = await response.json();
      this.editor.AssetManager.add(body.data || []);
    } catch (error) {
      // The library is a convenience: uploading still works without it.
    }
  }

  /** Viewers look: devices and dark preview stay, nothing can be selected or changed. */
  makeReadonly() {
    const { editor } = this;
    const locked = {
      selectable: false, hoverable: false, editable: false, draggable: false,
      droppable: false, removable: false, copyable: false, badgable: false, layerable: false,
    };
    const lock = (component) => {
      component.set(locked);
      component.components().forEach(lock);
    };
    lock(editor.getWrapper());
    ["mjml-import", "undo", "redo", "export-template"].forEach((id) =>
      editor.Panels.removeButton("options", id),
    );
    editor.Panels.getButton("options", "sw-visibility")?.set("active", false);
    editor.Panels.removeButton("options", "sw-visibility");
    editor.Panels.getPanel("views")?.set("visible", false);
    editor.Panels.getPanel("views-container")?.set("visible", false);
    this.root.classList.add("engagex-editor--readonly");
  }
}

function startAll() {
  document.querySelectorAll("[data-engagex-editor]").forEach((root) => {
    if (root.dataset.started) return;
    root.dataset.started = "true";
    new VisualEditor(root).start();
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", startAll);
} else {
  startAll();
}
