"""MJML compile time per starter template: MRML (ours) beside the JavaScript MJML engine.

Ours is `engagex.email_templates.mjml.mjml_to_html`: the structure check, MRML (Rust) and
css-inline, as a save runs it. The comparison is the official MJML engine in JavaScript,
`mjml-browser` (the build grapesjs-mjml uses; the editor's `frontend/node_modules`), run by
Node.js in one warm process, so Node's start-up is not counted. Each figure is the median
of `--runs` compiles after a warm-up.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import ROOT

NODE_SCRIPT = """
globalThis.window = globalThis;  // mjml-browser is a browser build
const mjml2html = require(process.argv[2]);
const {sources, runs} = JSON.parse(require("fs").readFileSync(process.argv[3], "utf8"));
const out = {};
for (const [slug, source] of Object.entries(sources)) {
  for (let i = 0; i < 5; i++) mjml2html(source, {validationLevel: "soft"});
  const times = [];
  let size = 0;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    size = mjml2html(source, {validationLevel: "soft"}).html.length;
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  out[slug] = {median: times[Math.floor(times.length / 2)], size: size};
}
console.log(JSON.stringify(out));
"""


def _median_ms(func, runs: int) -> float:
    for _ in range(5):
        func()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _node(sources: dict, runs: int, node_modules: Path) -> dict | None:
    engine = node_modules / "mjml-browser"
    node = shutil.which("node")
    if node is None or not engine.exists():
        return None
    with tempfile.TemporaryDirectory() as folder:
        script, data = Path(folder, "bench.js"), Path(folder, "data.json")
        script.write_text(NODE_SCRIPT)
        data.write_text(json.dumps({"sources": sources, "runs": runs}))
        done = subprocess.run(
            [node, str(script), str(engine), str(data)],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--node-modules", type=Path, default=ROOT / "frontend" / "node_modules")
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    import django

    django.setup()
    import mrml

    from engagex.email_templates.mjml import mjml_to_html
    from engagex.email_templates.models import BrandKit
    from engagex.email_templates.starters import STARTERS, starter_mjml

    kit = BrandKit(footer_address="1 Main Street\nSpringfield")
    images = "https://demo.example.com/static/email_templates/starters/"
    sources = {s.slug: starter_mjml(s, kit, images_url=images) for s in STARTERS}
    node = _node(sources, options.runs, options.node_modules)
    header = ("starter", "MJML KB", "ours ms", "MRML ms", "mjml-js ms", "HTML KB")
    print("{:<14} {:>8} {:>8} {:>8} {:>10} {:>8}".format(*header))
    for slug, source in sources.items():
        ours = _median_ms(lambda source=source: mjml_to_html(source), options.runs)
        bare = _median_ms(lambda source=source: mrml.to_html(source), options.runs)
        html = mjml_to_html(source)
        js = f"{node[slug]['median']:.2f}" if node else "n/a"
        print(
            f"{slug:<14} {len(source) / 1024:>8.1f} {ours:>8.2f} {bare:>8.2f} {js:>10} "
            f"{len(html.encode()) / 1024:>8.1f}"
        )
    if node is None:
        print(f"(no comparison: node or {options.node_modules / 'mjml-browser'} is missing)")


if __name__ == "__main__":
    main()
