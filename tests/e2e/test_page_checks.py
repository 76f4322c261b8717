"""The checks every browser step runs must be able to fail: planted faults are caught."""

from __future__ import annotations

import pytest

from tests.e2e.page_checks import translate, untranslated, zh_catalog


@pytest.fixture
def blank(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def _page(page, lang: str, body: str):
    page.set_content(
        f'<!doctype html><html lang="{lang}"><head><title>t</title></head><body>{body}</body></html>'
    )
    return page


def test_catalog_knows_both_languages():
    catalog = zh_catalog()
    assert "Sign in" in catalog.english
    assert translate("Sign in", "zh") in catalog.chinese
    assert translate("Sign in", "en") == "Sign in"


def test_english_string_on_a_chinese_page_is_found(blank):
    _page(blank, "zh-CN", f"<h1>{translate('Sign in', 'zh')}</h1><p>  Sign   in </p>")
    assert untranslated(blank, "zh") == ["'Sign in' in p"]


def test_chinese_string_on_an_english_page_is_found(blank):
    zh = translate("Sign in", "zh")
    _page(blank, "en", f'<h1>Sign in</h1><input aria-label="{zh}">')
    assert untranslated(blank, "en") == [f"{zh!r} in input[aria-label]"]


def test_attributes_buttons_and_title_are_checked(blank):
    blank.set_content(
        '<html lang="zh-CN"><head><title>Enterprises · x</title></head><body>'
        '<input placeholder="Search"><img alt="Menu" src="data:,">'
        '<input type="submit" value="Save"><span title="Cancel">x</span></body></html>'
    )
    found = untranslated(blank, "zh")
    assert len(found) == 5, found


def test_formatted_messages_are_matched(blank):
    _page(blank, "zh-CN", "<p>12 enterprises</p>")
    assert untranslated(blank, "zh") == ["'12 enterprises' in p"]


def test_declared_language_and_data_are_left_alone(blank):
    _page(
        blank,
        "zh-CN",
        '<option lang="en">Save</option><span translate="no">Menu</span><p>蒙牛乳业 Mengniu</p>',
    )
    assert untranslated(blank, "zh") == []


# -- the same checks inside ui.step, on a page of the app ---------------------------

PLANTS = {"zh": "Sign in", "en": translate("Sign in", "zh")}


@pytest.mark.parametrize("variant", ["desktop-zh", "phone-en"], indirect=True)
def test_step_fails_on_a_planted_fault(ui):
    ui.goto("/login")
    ui.step("clean")
    planted = PLANTS[ui.lang]
    ui.page.evaluate("text => { document.querySelector('h1').textContent = text; }", planted)
    with pytest.raises(AssertionError, match=f"(?s)untranslated strings .*{planted!r} in h1"):
        ui.step("planted-other-language")

    ui.goto("/login")
    ui.page.evaluate("document.querySelector('form').append(document.createElement('input'))")
    with pytest.raises(AssertionError, match="(?s)axe violations .*\\blabel\\b"):
        ui.step("planted-unlabelled-field")

    ui.goto("/login")
    ui.page.evaluate("console.error('planted failure')")
    with pytest.raises(AssertionError, match="(?s)console error: planted failure"):
        ui.step("planted-console-error")
    ui.problems.clear()  # caught on purpose: the teardown check must not fail the test

    with ui.page.expect_event("pageerror"):
        ui.page.evaluate("setTimeout(() => { throw new Error('planted exception'); })")
    with pytest.raises(AssertionError, match="(?s)page error: .*planted exception"):
        ui.assert_no_errors()
    ui.problems.clear()
