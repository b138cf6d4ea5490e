// Segment condition builder: edits the rule JSON in the textarea beside it and, as the
// user edits, posts the rule to the count endpoint to show the count and a sample.
// Loaded from our static files (the console's CSP allows no inline script without a nonce).
(function () {
  "use strict";

  var GAP = "…"; // where an operator's label takes its value ("in the last … days")

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // options: [value, label] pairs, or {group: label, options: [...]} for an <optgroup>.
  function select(options, value, label) {
    var node = el("select", { class: "segment-input", "aria-label": label || "" });
    function add(parent, option) {
      var item = el("option", { value: option[0], text: option[1] });
      if (value !== null && value !== undefined && String(option[0]) === String(value)) { item.selected = true; }
      parent.appendChild(item);
    }
    options.forEach(function (option) {
      if (option.group === undefined) { add(node, option); return; }
      var group = el("optgroup", { label: option.group });
      option.options.forEach(function (inner) { add(group, inner); });
      node.appendChild(group);
    });
    return node;
  }

  function input(type, value, onChange, label) {
    var node = el("input", { type: type, class: "segment-input segment-input-" + type, "aria-label": label || "" });
    if (type === "number") { node.setAttribute("step", "any"); }
    if (value !== undefined && value !== null) { node.value = value; }
    node.addEventListener("input", function () { onChange(node.value); });
    return node;
  }

  function number(text) {
    return text === "" || isNaN(Number(text)) ? text : Number(text);
  }

  function missing(value) {
    return value === null || value === undefined || value === "" || (typeof value === "number" && isNaN(value));
  }

  function Builder(root) {
    this.root = root;
    this.text = root.dataset;
    this.catalogue = JSON.parse(root.dataset.catalogue || "[]");
    this.fields = {};
    var self = this;
    this.catalogue.forEach(function (kind) { self.fields[kind.field] = kind; });
    this.textarea = root.parentNode.querySelector("textarea");
    this.tree = root.querySelector(".segment-builder-tree");
    this.countBox = root.querySelector(".segment-builder-count");
    this.sampleBox = root.querySelector(".segment-builder-sample");
    // Shown to someone who may not change the segment: the conditions and their count only.
    this.readOnly = root.dataset.readOnly === "1";
    try { this.rule = JSON.parse(this.textarea.value || "{}"); } catch (e) { this.rule = null; }
    // A new segment's textarea holds "null": start from an empty rule.
    if (!this.rule || !Array.isArray(this.rule.conditions)) { this.rule = { version: 1, match: "all", conditions: [] }; }
    this.textarea.addEventListener("change", function () {
      try { self.rule = JSON.parse(self.textarea.value); self.render(); } catch (e) { /* keep */ }
    });
    this.render();
  }

  // The field choice, grouped as the catalogue's families (contact fields, attributes, …).
  Builder.prototype.fieldOptions = function () {
    var groups = [];
    var byFamily = {};
    this.catalogue.forEach(function (kind) {
      var family = kind.family_label || kind.family;
      if (!byFamily[family]) { byFamily[family] = { group: family, options: [] }; groups.push(byFamily[family]); }
      byFamily[family].options.push([kind.field, kind.label]);
    });
    return groups;
  };

  Builder.prototype.operators = function (cond, kind) {
    if (!kind.attributes) { return kind.operators; }
    var attribute = kind.attributes.filter(function (a) { return a.name === cond.name; })[0];
    return attribute ? attribute.operators : [];
  };

  // Whether every condition is filled in: an unfinished one is not counted (the server
  // would only say it is unfinished), the builder asks for the rest instead.
  Builder.prototype.complete = function (item, top) {
    var self = this;
    if (item.conditions) {
      return (top || item.conditions.length > 0) && item.conditions.every(function (child) { return self.complete(child, false); });
    }
    var kind = this.fields[item.field];
    if (!kind) { return true; } // unknown to the builder: let the server say what is wrong
    if (kind.attributes && !item.name) { return false; }
    var op = this.operators(item, kind).filter(function (o) { return o.name === item.op; })[0];
    if (!op) { return false; }
    var value = item.value;
    if (op.value === "none") { return true; }
    if (op.value === "range") { return Array.isArray(value) && !missing(value[0]) && !missing(value[1]); }
    if (op.value === "opens") { return !!value && !missing(value.count) && !missing(value.days); }
    return !missing(value);
  };

  Builder.prototype.changed = function () {
    this.textarea.value = JSON.stringify(this.rule, null, 2);
    var self = this;
    clearTimeout(this.timer);
    this.clearErrors();
    if (!this.complete(this.rule, true)) {
      this.asked = null; // an answer still on its way is for an older rule
      this.countBox.classList.remove("segment-builder-count-error");
      this.countBox.textContent = this.text.textIncomplete;
      this.sampleBox.textContent = "";
      return;
    }
    this.timer = setTimeout(function () { self.count(); }, 300);
  };

  Builder.prototype.clearErrors = function () {
    this.tree.querySelectorAll(".segment-error").forEach(function (node) { node.remove(); });
    this.tree.querySelectorAll(".segment-invalid").forEach(function (node) { node.classList.remove("segment-invalid"); });
  };

  // Put each refusal beside the condition or group it names ("conditions[1].value").
  Builder.prototype.showErrors = function (fields) {
    var self = this;
    var general = [];
    Object.keys(fields || {}).forEach(function (path) {
      var target = null;
      var prefix = path;
      while (prefix && !target) {
        target = self.paths[prefix] || null;
        var cut = prefix.lastIndexOf(".");
        prefix = cut > 0 ? prefix.slice(0, cut) : "";
      }
      if (!target) { general = general.concat(fields[path]); return; }
      target.classList.add("segment-invalid");
      target.appendChild(el("div", { class: "segment-error", text: fields[path].join(" ") }));
    });
    return general;
  };

  Builder.prototype.count = function () {
    var url = this.root.dataset.countUrl;
    if (!url) { return; }
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    var self = this;
    var asked = this.asked = JSON.stringify(this.rule);
    this.countBox.textContent = this.text.textCounting;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" },
      body: JSON.stringify({ rule: this.rule })
    }).then(function (response) { return response.json(); }).then(function (data) {
      if (asked !== self.asked) { return; } // an older answer
      self.sampleBox.textContent = "";
      if (data.errors) {
        var general = data.fields ? self.showErrors(data.fields) : data.errors;
        self.countBox.textContent = general.length ? general.join(" ") : self.text.textFix;
        self.countBox.classList.add("segment-builder-count-error");
        return;
      }
      self.countBox.classList.remove("segment-builder-count-error");
      self.countBox.textContent = "";
      self.countBox.appendChild(el("span", {}, [self.text.textCount + " "]));
      self.countBox.appendChild(el("strong", { "data-testid": "segment-count", text: data.sendable_text }));
      if (!data.sample.length) { return; }
      self.sampleBox.appendChild(el("span", { class: "segment-sample-label", text: self.text.textSample }));
      data.sample.forEach(function (row) {
        var label = row.email + (row.status !== "subscribed" ? " (" + (row.status_label || row.status) + ")" : "");
        self.sampleBox.appendChild(el("span", { class: "segment-sample-item", text: label }));
      });
    }).catch(function () { self.countBox.textContent = ""; });
  };

  Builder.prototype.render = function () {
    this.paths = {};
    this.tree.textContent = "";
    this.tree.appendChild(this.group(this.rule, null, ""));
    if (this.readOnly) {
      this.tree.querySelectorAll("select, input").forEach(function (node) { node.disabled = true; });
      this.tree.querySelectorAll(".segment-group-actions, .segment-remove").forEach(function (node) { node.remove(); });
    }
    this.changed();
  };

  Builder.prototype.group = function (group, parent, path) {
    var self = this;
    var box = el("div", { class: parent ? "segment-group segment-group-nested" : "segment-group" });
    if (path) { this.paths[path] = box; }
    var match = select([["all", this.text.textAll], ["any", this.text.textAny]], group.match || "all", this.text.textMatch);
    match.addEventListener("change", function () { group.match = match.value; self.render(); });
    var head = el("div", { class: "segment-group-head" }, [el("span", { text: this.text.textMatch }), match]);
    if (parent) { head.appendChild(this.removeButton(parent, group)); }
    box.appendChild(head);
    var joiner = (group.match || "all") === "any" ? this.text.textOr : this.text.textAnd;
    (group.conditions || []).forEach(function (item, index) {
      var itemPath = (path ? path + "." : "") + "conditions[" + index + "]";
      var line = el("div", { class: "segment-line" }, [
        el("span", { class: "segment-joiner", text: index ? joiner : "" })
      ]);
      line.appendChild(item.conditions ? self.group(item, group, itemPath) : self.condition(item, group, itemPath));
      box.appendChild(line);
    });
    var add = el("button", { type: "button", class: "segment-add", text: "+ " + this.text.textAdd });
    add.addEventListener("click", function () {
      var first = self.catalogue[0];
      group.conditions.push({ field: first.field, op: first.operators[0].name, value: null });
      self.render();
    });
    var nest = el("button", { type: "button", class: "segment-add", text: "+ " + this.text.textGroup });
    nest.addEventListener("click", function () {
      group.conditions.push({ match: "any", conditions: [] });
      self.render();
    });
    box.appendChild(el("div", { class: "segment-group-actions" }, [add, nest]));
    return box;
  };

  Builder.prototype.removeButton = function (parent, item) {
    var self = this;
    var remove = el("button", { type: "button", class: "segment-remove", title: this.text.textRemove, "aria-label": this.text.textRemove, text: "×" });
    remove.addEventListener("click", function () {
      parent.conditions.splice(parent.conditions.indexOf(item), 1);
      self.render();
    });
    return remove;
  };

  Builder.prototype.condition = function (cond, parent, path) {
    var self = this;
    var kind = this.fields[cond.field] || this.catalogue[0];
    var row = el("div", { class: "segment-condition" });
    this.paths[path] = row;
    var line = el("div", { class: "segment-condition-line" });
    row.appendChild(line);
    var field = select(this.fieldOptions(), kind.field, this.text.textField);
    field.addEventListener("change", function () {
      var next = self.fields[field.value];
      Object.keys(cond).forEach(function (key) { delete cond[key]; });
      cond.field = next.field;
      cond.op = (next.operators[0] || { name: null }).name;
      cond.value = null;
      self.render();
    });
    line.appendChild(field);
    if (kind.attributes) {
      // Custom attributes: the operators follow the chosen attribute's type.
      var names = kind.attributes.map(function (a) { return [a.name, a.name + " (" + a.type_label + ")"]; });
      var name = select([["", GAP]].concat(names), cond.name, kind.label);
      name.addEventListener("change", function () { cond.name = name.value; cond.op = null; cond.value = null; self.render(); });
      line.appendChild(name);
    }
    var operators = this.operators(cond, kind);
    if (operators.length && !operators.some(function (o) { return o.name === cond.op; })) {
      cond.op = operators[0].name;
    }
    var chosen = operators.filter(function (o) { return o.name === cond.op; })[0];
    // A label with gaps ("at least … in the last … days") holds its values in them; with
    // one operator only, the label itself is shown around them instead of a one-item list.
    var parts = chosen ? String(chosen.label).split(GAP) : [""];
    var alone = operators.length === 1 && parts.length > 1;
    if (operators.length && !alone) {
      var op = select(operators.map(function (o) { return [o.name, o.label]; }), cond.op, this.text.textOperator);
      op.addEventListener("change", function () { cond.op = op.value; cond.value = null; self.render(); });
      line.appendChild(op);
    }
    if (chosen) {
      var inputs = this.value(cond, kind, chosen.value);
      var words = parts.length > 1 ? parts.map(function (part) { return part.trim(); }) : null;
      inputs.forEach(function (node, index) {
        // Each input keeps the words around it on its line ("in the last [30] days").
        var piece = el("span", { class: "segment-piece" });
        var before = words ? (index || alone ? words[index] : "") : (index ? "–" : "");
        if (before) { piece.appendChild(el("span", { class: "segment-text", text: before })); }
        piece.appendChild(node);
        var after = words && index === inputs.length - 1 ? words.slice(index + 1).filter(Boolean).join(" ") : "";
        if (after) { piece.appendChild(el("span", { class: "segment-text", text: after })); }
        line.appendChild(piece);
      });
    }
    if (kind.options && kind.options.status !== undefined && kind.choices.length) {
      // A list's member status: "subscribed" unless another is chosen (left out of the rule).
      var status = select(kind.choices, cond.status || "subscribed", kind.status_label || "");
      status.addEventListener("change", function () {
        if (status.value === "subscribed") { delete cond.status; } else { cond.status = status.value; }
        self.changed();
      });
      var statusPiece = el("span", { class: "segment-piece" });
      if (kind.status_label) { statusPiece.appendChild(el("span", { class: "segment-text", text: kind.status_label })); }
      statusPiece.appendChild(status);
      line.appendChild(statusPiece);
    }
    if (kind.options && kind.options.include_machine_opens !== undefined) {
      var box = el("input", { type: "checkbox" });
      box.checked = !!cond.include_machine_opens;
      box.addEventListener("change", function () {
        if (box.checked) { cond.include_machine_opens = true; } else { delete cond.include_machine_opens; }
        self.changed();
      });
      line.appendChild(el("label", { class: "segment-option" }, [box, kind.machine_label || ""]));
    }
    line.appendChild(this.removeButton(parent, cond));
    return row;
  };

  // The inputs of a condition's value (two for a range, or for "K opens in N days").
  Builder.prototype.value = function (cond, kind, valueKind) {
    var self = this;
    var label = this.text.textValue;
    function set(v) { cond.value = v; self.changed(); }
    if (valueKind === "none") { delete cond.value; return []; }
    if (valueKind === "choice") {
      var choice = select([["", GAP]].concat(kind.choices), cond.value, label);
      choice.addEventListener("change", function () { set(choice.value || null); });
      return [choice];
    }
    if (valueKind === "id" && kind.ids) {
      var pick = select([["", GAP]].concat(kind.ids), cond.value, label);
      pick.addEventListener("change", function () { set(pick.value ? number(pick.value) : null); });
      return [pick];
    }
    if (valueKind === "boolean") {
      if (typeof cond.value !== "boolean") { cond.value = true; }
      var yes = select([["true", this.text.textYes], ["false", this.text.textNo]], String(cond.value), label);
      yes.addEventListener("change", function () { set(yes.value === "true"); });
      return [yes];
    }
    if (valueKind === "range") {
      var range = Array.isArray(cond.value) ? cond.value : ["", ""];
      return [
        input("number", range[0], function (v) { range[0] = number(v); set(range); }, label),
        input("number", range[1], function (v) { range[1] = number(v); set(range); }, label)
      ];
    }
    if (valueKind === "opens") {
      var opens = cond.value && typeof cond.value === "object" ? cond.value : { count: 3, days: 30 };
      cond.value = opens;
      return [
        input("number", opens.count, function (v) { opens.count = number(v); set(opens); }, label),
        input("number", opens.days, function (v) { opens.days = number(v); set(opens); }, label)
      ];
    }
    var type = { number: "number", days: "number", id: "number", date: "date" }[valueKind] || "text";
    return [input(type, cond.value, function (v) { set(type === "number" ? number(v) : v); }, label)];
  };

  function start() {
    document.querySelectorAll(".segment-builder").forEach(function (root) { new Builder(root); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
