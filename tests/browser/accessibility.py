"""What a page must pass in every browser test that looks at it: axe-core (the version pinned in
package.json, injected from node_modules, never a CDN) finds no serious or critical violation,
and the page is no wider than the viewport."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# The widths every page is checked at: a laptop, and a phone (390 px, an iPhone's).
WIDTHS = (1280, 390)
FAILING_IMPACTS = {"serious", "critical"}
# Failing whatever their impact: content outside every landmark (`region`) is only "moderate"
# to axe, but leaves screen reader users without a way to skip to it.
FAILING_RULES = {"region"}

# axe's rules (WCAG 2.2 A and AA, and its best practices), with the experimental ones on too
# (`label-content-name-mismatch` is one); the AAA ones (enhanced contrast) stay off.
_AXE_RUN = """async () => {
  const experimental = axe.getRules(["experimental"]);
  const rules = Object.fromEntries(experimental.map((rule) => [rule.ruleId, {enabled: true}]));
  const results = await axe.run(document, {rules, resultTypes: ["violations"]});
  return results.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    targets: violation.nodes.slice(0, 3).map((node) => node.target.join(" ")),
  }));
}"""

# The elements that stick out to the right, innermost first: what makes a page scroll sideways.
_WIDE_ELEMENTS = """(width) => {
  const wide = [...document.querySelectorAll("body *")].filter(
    (element) => element.getBoundingClientRect().right > width + 0.5
  );
  return wide
    .filter((element) => !wide.some((other) => other !== element && element.contains(other)))
    .slice(0, 3)
    .map((element) => element.outerHTML.slice(0, 120));
}"""


def axe_violations(page: Page) -> list[dict[str, object]]:
    """axe-core's violations on the page as it is now (every rule), serious or not."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    return page.evaluate(_AXE_RUN)


def page_problems(page: Page) -> list[str]:
    """What is wrong with the page as it is now, in words: serious or critical axe violations
    (and `region`), and a width beyond the viewport's (with what sticks out)."""
    width = page.viewport_size["width"]  # type: ignore[index]
    problems = [
        f"axe {violation['id']} ({violation['impact']}): {violation['help']} "
        f"at {', '.join(violation['targets'])}"  # type: ignore[arg-type]
        for violation in axe_violations(page)
        if violation["impact"] in FAILING_IMPACTS or violation["id"] in FAILING_RULES
    ]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        wide = page.evaluate(_WIDE_ELEMENTS, width)
        problems.append(f"{scroll_width} px wide at {width} px: {' | '.join(wide)}")
    return problems
