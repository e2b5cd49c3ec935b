"""The HTML preview in headless Chromium, at 1280 px and at 390 px (a phone): what a person sees, checked.

The page is the real `psimport preview --format html` of the demo household against the sandbox.
Chromium is the system's (/usr/bin/chromium, or `chromium` on PATH), driven by playwright; no
browser is ever downloaded. Screenshots go to the test's tmp folder (`pytest --basetemp DIR` keeps
them where you can look at them). Without Chromium or playwright the tests skip, saying why.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import cli

SAMPLES = Path(__file__).resolve().parents[1] / "sample_statements"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP, PHONE = (1280, 800), (390, 844)
GREEN = (0x2A, 0x8A, 0x2A)      # the "to create" colour of html.py's CSS


def _chromium() -> str | None:
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install -e '.[test]')")
    pytest.importorskip("PIL", reason="Pillow is not installed (pip install -e '.[test]')")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium (/usr/bin/chromium, or chromium on PATH): `apt-get install chromium` runs "
                    "the HTML screenshot tests")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The page, and the preview's own numbers to check it against."""
    import json
    folder = tmp_path_factory.mktemp("report")
    page = folder / "preview.html"
    options = ["--sandbox", "--config", str(SAMPLES / "psimport.yaml"), "--state-dir", str(folder / "state")]
    made = CliRunner().invoke(cli, ["preview", str(SAMPLES), *options, "--format", "html", "--out", str(page)])
    assert made.exit_code == 0, made.output
    plan = json.loads(CliRunner().invoke(cli, ["preview", str(SAMPLES), *options, "--format", "json"]).stdout)
    return page, plan


def _open(browser, page_file: Path, size: tuple[int, int]):
    """A fresh page of that viewport with the report loaded, and every URL it asked for."""
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(page_file.as_uri())
    return page, asked


def _pixels(path: Path):
    from PIL import Image
    return Image.open(path).convert("RGB")


def _has_colour(image, box: dict, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    """Whether any pixel inside the element's box (CSS px = screenshot px here) is close to `colour`."""
    import numpy
    left, top = int(box["x"]), int(box["y"])
    region = numpy.asarray(image.crop((left, top, left + int(box["width"]), top + int(box["height"]))), dtype=int)
    return bool((abs(region - numpy.array(colour)) <= tolerance).all(axis=-1).any())


def _in_view(box: dict | None, size: tuple[int, int]) -> bool:
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= size[0] \
        and box["y"] + box["height"] <= size[1]


@pytest.mark.slow
@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_the_report_shows_the_summary_and_the_first_row_to_create_on_the_first_screen(browser, report, size,
                                                                                      tmp_path):
    page_file, plan = report
    page, asked = _open(browser, page_file, size)
    shot = tmp_path / f"report-{size[0]}px.png"
    page.screenshot(path=str(shot))
    whole = tmp_path / f"report-{size[0]}px-whole.png"
    page.screenshot(path=str(whole), full_page=True)

    assert asked == [page_file.as_uri()]                       # it loads nothing from anywhere
    # No sideways scrolling of the page itself: the page is as wide as the screen, and so is its whole screenshot.
    assert page.evaluate("document.documentElement.scrollWidth") == size[0]
    assert _pixels(whole).size[0] == size[0]

    cards = page.locator(".cards")
    assert _in_view(cards.bounding_box(), size)
    assert f"{plan['summary']['create']}to create" in cards.inner_text().replace("\n", "")
    first = page.locator("tbody tr").first
    assert first.get_attribute("class") == "create" and _in_view(first.bounding_box(), size)
    first_create = next(r for r in plan["transactions"] if r["action"] == "create")
    assert first.locator("td.payee").inner_text() == first_create["payee"]
    assert first.locator("td.amount").inner_text() == first_create["amount"]
    image = _pixels(shot)
    assert image.size == size
    # What the screenshot shows: the green of "to create" in the summary and on the first row.
    assert _has_colour(image, page.locator(".card.create b").bounding_box(), GREEN)
    assert _has_colour(image, first.locator("td.action").bounding_box(), GREEN)
    text_size = float(page.evaluate("parseFloat(getComputedStyle(document.querySelector('td.payee')).fontSize)"))
    assert text_size >= 13                                      # readable without zooming, on a phone too
    page.close()


@pytest.mark.slow
@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_the_filter_by_action_shows_only_that_action_when_clicked(browser, report, size, tmp_path):
    page_file, plan = report
    page, _ = _open(browser, page_file, size)
    rows = page.locator("tbody tr")
    assert rows.count() == plan["summary"]["total"]
    for action in ("review", "duplicate", "create"):
        page.locator(f'label[for="show-{action}"]').click()
        visible = page.locator("tbody tr:visible")
        assert visible.count() == plan["summary"][action]
        assert set(visible.evaluate_all("rows => rows.map(r => r.className)")) == {action}
    page.locator('label[for="show-review"]').click()
    page.screenshot(path=str(tmp_path / f"report-{size[0]}px-review.png"))
    review = page.locator("tbody tr:visible").first
    assert _in_view(review.bounding_box(), size) and review.is_visible()
    review.locator("summary").click()                           # the reasons, a tap away
    assert "same amount" in review.locator("td.why").inner_text()
    page.locator('label[for="show-all"]').click()
    assert page.locator("tbody tr:visible").count() == plan["summary"]["total"]
    page.close()


@pytest.mark.slow
def test_clicking_a_heading_sorts_the_rows(browser, report):
    from decimal import Decimal
    page_file, _ = report
    page, _ = _open(browser, page_file, DESKTOP)
    page.locator("th.amount").click()
    amounts = [Decimal(a) for a in page.locator("tbody td.amount").all_inner_texts()]
    assert amounts == sorted(amounts)
    page.locator("th.amount").click()
    assert [Decimal(a) for a in page.locator("tbody td.amount").all_inner_texts()] == sorted(amounts, reverse=True)
    page.close()
