// Segment condition builder: edits the rule JSON in the textarea beside it and, as the
// user edits, posts the rule to the count endpoint to show the count and a sample.
// Loaded from our static files (the console's CSP allows no inline script without a nonce).
(function () {
  "use strict";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function select(options, value) {
    var node = el("select", { class: "border rounded px-2 py-1 mr-1" });
    options.forEach(function (option) {
      var item = el("option", { value: option[0], text: option[1] });
      if (String(option[0]) === String(value)) { item.selected = true; }
      node.appendChild(item);
    });
    return node;
  }

  function input(type, value, onChange) {
    var node = el("input", { type: type, class: "border rounded px-2 py-1 mr-1 w-32" });
    if (value !== undefined && value !== null) { node.value = value; }
    node.addEventListener("input", function () { onChange(node.value); });
    return node;
  }

  function number(text) {
    return text === "" || isNaN(Number(text)) ? text : Number(text);
  }

  function Builder(root) {
    this.root = root;
    this.catalogue = JSON.parse(root.dataset.catalogue || "[]");
    this.fields = {};
    var self = this;
    this.catalogue.forEach(function (kind) { self.fields[kind.field] = kind; });
    this.textarea = root.parentNode.querySelector("textarea");
    this.tree = root.querySelector(".segment-builder-tree");
    this.countBox = root.querySelector(".segment-builder-count");
    this.sampleBox = root.querySelector(".segment-builder-sample");
    try { this.rule = JSON.parse(this.textarea.value || "{}"); } catch (e) { this.rule = {}; }
    if (!this.rule.conditions) { this.rule = { version: 1, match: "all", conditions: [] }; }
    this.textarea.addEventListener("change", function () {
      try { self.rule = JSON.parse(self.textarea.value); self.render(); } catch (e) { /* keep */ }
    });
    this.render();
  }

  Builder.prototype.changed = function () {
    this.textarea.value = JSON.stringify(this.rule, null, 2);
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.count(); }, 300);
  };

  Builder.prototype.count = function () {
    var url = this.root.dataset.countUrl;
    if (!url) { return; }
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    var self = this;
    var asked = JSON.stringify(this.rule);
    this.countBox.textContent = this.root.dataset.textCounting;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" },
      body: JSON.stringify({ rule: this.rule })
    }).then(function (response) { return response.json(); }).then(function (data) {
      if (asked !== JSON.stringify(self.rule)) { return; } // an older answer
      self.sampleBox.textContent = "";
      if (data.errors) {
        self.countBox.textContent = data.errors.join(" ");
        self.countBox.classList.add("text-red-600");
        return;
      }
      self.countBox.classList.remove("text-red-600");
      self.countBox.textContent = self.root.dataset.textCount + " " + data.sendable_text;
      data.sample.forEach(function (row) {
        self.sampleBox.appendChild(el("li", { text: row.email + (row.status !== "subscribed" ? " (" + row.status + ")" : "") }));
      });
    }).catch(function () { self.countBox.textContent = ""; });
  };

  Builder.prototype.render = function () {
    this.tree.textContent = "";
    this.tree.appendChild(this.group(this.rule, null));
    this.changed();
  };

  Builder.prototype.group = function (group, parent) {
    var self = this;
    var box = el("div", { class: "border-l-2 pl-3 my-2" });
    var match = select([["all", this.root.dataset.textAll], ["any", this.root.dataset.textAny]], group.match || "all");
    match.addEventListener("change", function () { group.match = match.value; self.changed(); });
    var head = el("div", { class: "mb-1" }, [el("span", { text: this.root.dataset.textMatch + " " }), match]);
    if (parent) { head.appendChild(this.removeButton(parent, group)); }
    box.appendChild(head);
    (group.conditions || []).forEach(function (item) {
      box.appendChild(item.conditions ? self.group(item, group) : self.condition(item, group));
    });
    var add = el("button", { type: "button", class: "text-primary-600 mr-3 text-sm", text: "+ " + this.root.dataset.textAdd });
    add.addEventListener("click", function () {
      var first = self.catalogue[0];
      group.conditions.push({ field: first.field, op: first.operators[0].name, value: null });
      self.render();
    });
    var nest = el("button", { type: "button", class: "text-primary-600 text-sm", text: "+ " + this.root.dataset.textGroup });
    nest.addEventListener("click", function () {
      group.conditions.push({ match: "any", conditions: [] });
      self.render();
    });
    box.appendChild(el("div", {}, [add, nest]));
    return box;
  };

  Builder.prototype.removeButton = function (parent, item) {
    var self = this;
    var remove = el("button", { type: "button", class: "text-red-600 ml-2 text-sm", text: this.root.dataset.textRemove });
    remove.addEventListener("click", function () {
      parent.conditions.splice(parent.conditions.indexOf(item), 1);
      self.render();
    });
    return remove;
  };

  Builder.prototype.condition = function (cond, parent) {
    var self = this;
    var kind = this.fields[cond.field] || this.catalogue[0];
    var row = el("div", { class: "my-1 flex flex-wrap items-center" });
    var field = select(this.catalogue.map(function (k) { return [k.field, k.label]; }), kind.field);
    field.addEventListener("change", function () {
      var next = self.fields[field.value];
      Object.keys(cond).forEach(function (key) { delete cond[key]; });
      cond.field = next.field;
      cond.op = (next.operators[0] || { name: "is" }).name;
      cond.value = null;
      self.render();
    });
    row.appendChild(field);
    var operators = kind.operators;
    if (kind.attributes) {
      // Custom attributes: the operators follow the chosen attribute's type.
      var names = kind.attributes.map(function (a) { return [a.name, a.name + " (" + a.type_label + ")"]; });
      var name = select([["", "…"]].concat(names), cond.name);
      name.addEventListener("change", function () { cond.name = name.value; cond.op = null; cond.value = null; self.render(); });
      row.appendChild(name);
      var attribute = kind.attributes.filter(function (a) { return a.name === cond.name; })[0];
      operators = attribute ? attribute.operators : [];
      if (attribute && !cond.op && operators.length) { cond.op = operators[0].name; }
    }
    var op = operators.length
      ? select(operators.map(function (o) { return [o.name, o.label]; }), cond.op)
      : input("text", cond.op || "", function (v) { cond.op = v; self.changed(); });
    if (operators.length) {
      op.addEventListener("change", function () { cond.op = op.value; cond.value = null; self.render(); });
    }
    row.appendChild(op);
    var chosen = operators.filter(function (o) { return o.name === cond.op; })[0];
    row.appendChild(this.value(cond, kind, chosen ? chosen.value : "text"));
    if (kind.options && kind.options.include_machine_opens !== undefined) {
      var box = el("input", { type: "checkbox", class: "ml-2 mr-1" });
      box.checked = !!cond.include_machine_opens;
      box.addEventListener("change", function () { cond.include_machine_opens = box.checked; self.changed(); });
      row.appendChild(el("label", { class: "text-sm" }, [box, document.createTextNode(kind.machine_label || "")]));
    }
    row.appendChild(this.removeButton(parent, cond));
    return row;
  };

  Builder.prototype.value = function (cond, kind, valueKind) {
    var self = this;
    function set(v) { cond.value = v; self.changed(); }
    var span = el("span", {});
    if (valueKind === "none") { delete cond.value; return span; }
    if (valueKind === "choice") {
      var choice = select([["", "…"]].concat(kind.choices), cond.value);
      choice.addEventListener("change", function () { set(choice.value); });
      span.appendChild(choice);
    } else if (valueKind === "id" && kind.ids) {
      var pick = select([["", "…"]].concat(kind.ids), cond.value);
      pick.addEventListener("change", function () { set(number(pick.value)); });
      span.appendChild(pick);
    } else if (valueKind === "boolean") {
      var yes = select([["true", "✓"], ["false", "✗"]], String(cond.value));
      yes.addEventListener("change", function () { set(yes.value === "true"); });
      if (cond.value === null || cond.value === undefined) { cond.value = true; }
      span.appendChild(yes);
    } else if (valueKind === "range") {
      var range = Array.isArray(cond.value) ? cond.value : ["", ""];
      span.appendChild(input("number", range[0], function (v) { range[0] = number(v); set(range); }));
      span.appendChild(input("number", range[1], function (v) { range[1] = number(v); set(range); }));
    } else if (valueKind === "opens") {
      var opens = cond.value && typeof cond.value === "object" ? cond.value : { count: 3, days: 30 };
      span.appendChild(input("number", opens.count, function (v) { opens.count = number(v); set(opens); }));
      span.appendChild(input("number", opens.days, function (v) { opens.days = number(v); set(opens); }));
      cond.value = opens;
    } else {
      var type = { number: "number", days: "number", id: "number", date: "date" }[valueKind] || "text";
      span.appendChild(input(type, cond.value, function (v) { set(type === "number" ? number(v) : v); }));
    }
    return span;
  };

  function start() {
    document.querySelectorAll(".segment-builder").forEach(function (root) { new Builder(root); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
