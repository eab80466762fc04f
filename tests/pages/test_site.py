"""The page table (resnet_viz/ui/site.py): one entry per file in pages/, and the navigation, the
sidebar menu, the home page's links and the tour's steps all drawn from it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from resnet_viz.ui.site import HOME, PAGES, by_file, by_url_path, sections
from resnet_viz.ui.tour import STEPS
from tests.app_support import APP, assert_clean

REPO = Path(APP).parent
PAGE_FILE = re.compile(r"pages/\w+\.py")


def test_every_page_file_has_one_entry_and_every_entry_a_file():
    files = sorted(str(path.relative_to(REPO)) for path in (REPO / "pages").glob("*.py"))
    assert sorted(page.file for page in PAGES) == files
    assert len({page.url_path for page in PAGES}) == len(PAGES)
    assert len({page.title for page in PAGES}) == len(PAGES)


def test_one_default_page_first_and_sections_in_one_piece():
    assert [page for page in PAGES if page.default] == [HOME]
    assert PAGES[0] is HOME
    assert HOME.url_path == ""
    names = [page.section for page in PAGES]
    assert list(sections()) == ["", "Explore", "Teaching lab"]
    for name, pages in sections().items():
        start = names.index(name)
        assert PAGES[start : start + len(pages)] == pages, name  # no section split in two


def test_lookups():
    for page in PAGES:
        assert by_url_path(page.url_path) is page
        assert by_file(page.file) is page
    assert by_url_path("grad_cam").title == "Grad-CAM"
    with pytest.raises(KeyError):
        by_url_path("nope")
    with pytest.raises(KeyError):
        by_file("pages/nope.py")


def test_every_page_but_home_has_a_blurb_and_an_icon():
    for page in PAGES:
        assert page.icon.startswith(":material/"), page.name
        assert bool(page.blurb) != page.default, page.name


def test_only_the_table_names_a_page_file():
    """No other module, page or app.py writes "pages/x.py": they take it from the table."""
    sources = [
        REPO / "app.py",
        *(REPO / "pages").glob("*.py"),
        *(REPO / "resnet_viz").rglob("*.py"),
    ]
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not PAGE_FILE.fullmatch(node.value), (source, node.value)


def _links(at_block) -> list[tuple[str, str, str]]:
    return [(p.proto.label, p.proto.icon, p.proto.page) for p in at_block.get("page_link")]


def test_the_menu_is_the_table():
    """app.py hands st.navigation and the sidebar menu the same pages: the menu shows each
    entry's title and icon, linked to its URL path, under its section's heading."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert_clean(at)
    assert _links(at.sidebar) == [(p.title, p.icon, p.url_path) for p in PAGES]
    headings = [c.value for c in at.sidebar.caption if c.value in sections()]
    assert headings == [name for name in sections() if name]


def test_the_home_page_links_every_other_page_with_its_blurb():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert_clean(at)
    links = [link for link in _links(at.main) if link[0] != "Start the tour"]
    assert links == [(p.link_label, p.icon, p.url_path) for p in PAGES if not p.default]
    assert links[0][0] == (
        "**Architecture explorer**: build any ResNet, see every stage's shapes, parameters, "
        "MACs and receptive field, and the skip connections drawn."
    )


def test_every_tour_step_is_on_a_page_of_the_table():
    for current in STEPS:
        assert current.target in PAGES, current.title
        assert not current.target.default, current.title
        assert (current.page, current.url_path) == (current.target.file, current.target.name)
