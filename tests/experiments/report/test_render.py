"""Blocks rendered as Markdown and as self-contained HTML."""

from __future__ import annotations

from mirlearn.experiments.report.render import Block, md_table, render_html, render_markdown


def test_md_table_escapes_pipes_and_aligns():
    text = md_table(["a", "b"], [["x|y", "1"]])
    assert text.splitlines() == ["| a | b |", "|---|---:|", "| x\\|y | 1 |"]


def test_markdown_and_html_of_the_same_blocks():
    blocks = [Block("h1", "Title"), Block("p", "some `code` and **bold** <b>"), Block("ul", items=["one"]),
              Block("img", "alt", path="figures/x.png", data=b"\x89PNG"), Block("pre", "a < b")]
    md = render_markdown(blocks)
    assert md == "# Title\n\nsome `code` and **bold** <b>\n\n- one\n\n![alt](figures/x.png)\n\n```\na < b\n```\n"
    html = render_html(blocks, "Title")
    assert "<code>code</code>" in html and "<strong>bold</strong>" in html and "&lt;b&gt;" in html
    assert 'src="data:image/png;base64,iVBORw=="' in html and "<pre>a &lt; b</pre>" in html
