"""Visual editor page load in headless Chromium: navigation to the editor's ready event.

Ours: the committed bundle (static/engagex/editor/editor.js + .css, one script and one
stylesheet, minified by esbuild). Stock: GrapesJS and grapesjs-mjml from node_modules as
their READMEs load them (grapes.min.js, grapesjs-mjml/dist/index.js, grapes.min.css and the
documented init), on the same page, served the same way (gzip, the console's CSP, a
fresh browser context per load so nothing is cached), measured in the same run.
Needs `make assets` (or `cd frontend && npm ci`) for the stock files.

    .venv/bin/python bench/editor_load.py [--runs 15]
"""

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.editor_harness import serve  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
GOAL_S = 1.5

MEASURE = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  return {
    ready: window.engagexEditorReady.at / 1000,
    dcl: nav.domContentLoadedEventEnd / 1000,
    bytes: resources.reduce((sum, r) => sum + (r.transferSize || 0), nav.transferSize || 0),
    requests: resources.length + 1,
  };
}"""


def measure(browser, url: str, runs: int) -> tuple[list[dict], list[str]]:
    results, violations = [], []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(url)
        page.wait_for_selector("[data-engagex-editor][data-ready]", state="attached")
        results.append(page.evaluate(MEASURE))
        context.close()
    return results, violations


def summary(name: str, results: list[dict]) -> str:
    ready = [r["ready"] for r in results]
    return (
        f"| {name} | {len(ready)} | {statistics.median(ready):.3f} s | {min(ready):.3f} s | "
        f"{max(ready):.3f} s | {statistics.median(r['dcl'] for r in results):.3f} s | "
        f"{results[0]['requests']} | {results[0]['bytes'] / 1024:.0f} KiB |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    if not (ROOT / "frontend" / "node_modules" / "grapesjs").is_dir():
        print("frontend/node_modules is missing: run `make assets` first")
        return 1
    from playwright.sync_api import sync_playwright

    httpd = serve()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        measure(browser, base, 2)  # warm up Chromium and the server's gzip cache
        measure(browser, f"{base}?unbundled", 2)
        ours, stock, ours_csp, stock_csp = [], [], [], []
        for _ in range(options.runs):  # alternating, so both see the same machine load
            for results, violations, url in (
                (ours, ours_csp, base),
                (stock, stock_csp, f"{base}?unbundled"),
            ):
                run, seen = measure(browser, url, 1)
                results += run
                violations += seen
        browser.close()
    httpd.shutdown()
    print(
        "| page | loads | ready (median) | min | max | DOMContentLoaded | requests | transferred |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(summary("EngageX bundle (esbuild, one file)", ours))
    print(summary("stock: node_modules dist files + README init", stock))
    print(f"CSP violations: ours {len(ours_csp)}, stock {len(stock_csp)}")
    for text in sorted(set(stock_csp))[:3]:
        print(f"  stock: {text[:160]}")
    median = statistics.median(r["ready"] for r in ours)
    verdict = "met" if median <= GOAL_S else "NOT met"
    print(f"goal ≤ {GOAL_S} s to ready: {verdict} ({median:.3f} s)")
    return 0 if median <= GOAL_S and not ours_csp else 1


if __name__ == "__main__":
    sys.exit(main())
