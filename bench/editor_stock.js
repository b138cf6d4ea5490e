// The "obvious" way to put GrapesJS + grapesjs-mjml on a page (their README): the packages'
// dist files from node_modules as separate <script>s, and the documented init. Used by
// bench/editor_load.py as the comparison for our bundle.
(function () {
  function start() {
    var root = document.getElementById("stock-editor");
    var canvas = root.querySelector("[data-editor-canvas]");
    var mjml = document.querySelector("[name=mjml_source]").value;
    var editor = grapesjs.init({
      container: canvas,
      height: "78vh",
      storageManager: false,
      components: mjml.replace(/<(mj-[a-z-]+)([^>]*?)\s*\/>/g, "<$1$2></$1>"),
      plugins: ["grapesjs-mjml"],
    });
    editor.onReady(function () {
      root.dataset.ready = "true";
      window.engagexEditorReady = { at: performance.now() };
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
