"""A figure, its interval and the page frame as the reports and cards print them."""

from __future__ import annotations

from models.report_format import counts_text, figure_text, html_page, interval_html, md_ci, window_text


def test_a_figure_has_three_decimals_a_dash_when_missing_and_text_is_escaped() -> None:
    assert figure_text(0.12345) == "0.123"
    assert figure_text(1) == "1.000"
    assert figure_text(None) == figure_text(float("nan")) == "–"
    assert figure_text("<b>") == "&lt;b&gt;"


def test_an_interval_is_shown_only_when_both_ends_are_numbers() -> None:
    m = {"ap": 0.5, "ap_ci95": [0.25, 0.75], "auc": 0.6, "auc_ci95": [0.5, float("nan")], "p": 0.1}
    assert interval_html(m, "ap") == ' <span class="ci">[0.250, 0.750]</span>'
    assert interval_html(m, "auc") == interval_html(m, "p") == ""
    assert md_ci(m, "ap") == "0.500 [0.250, 0.750]"
    assert md_ci(m, "auc") == "0.600"
    assert md_ci(m, "p") == "0.100"


def test_the_page_escapes_its_title_and_intro_but_not_its_body() -> None:
    page = html_page("a < b", "x & y", "<p>body</p>")
    assert "<title>a &lt; b</title>" in page and "<h1>a &lt; b</h1>" in page
    assert "<p>x &amp; y</p><p>body</p></body></html>" in page


def test_windows_and_positives_read_as_text_not_python() -> None:
    assert window_text(["2023-01-12", "2024-04-06"]) == "(2023-01-12, 2024-04-06]"
    assert window_text(None) == "–"
    assert counts_text({"train": 184, "fold": 109}) == "train 184, fold 109"
    assert counts_text({}) == counts_text(None) == "–"
