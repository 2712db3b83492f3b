"""The report as a list of blocks, rendered both as Markdown and as one self-contained HTML file.

A :class:`Block` is a heading, paragraph, list, table, image or preformatted text; the HTML
embeds its images as base64 data URIs and its CSS, so it has no external resource.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from typing import Sequence

__all__ = ["Block", "md_table", "render_markdown", "render_html"]


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table: first column left-aligned, the others right-aligned; ``|`` escaped."""
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


@dataclass
class Block:
    """One element of the report."""

    kind: str  # "h1" "h2" "p" "ul" "table" "img" "pre"
    text: str = ""
    items: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    path: str = ""  # image, relative to the report
    data: bytes = b""


def render_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as Markdown, separated by blank lines, ending with a newline."""
    parts = []
    for b in blocks:
        if b.kind == "h1":
            parts.append(f"# {b.text}")
        elif b.kind == "h2":
            parts.append(f"## {b.text}")
        elif b.kind == "p":
            parts.append(b.text)
        elif b.kind == "ul":
            parts.append("\n".join(f"- {i}" for i in b.items))
        elif b.kind == "table":
            parts.append(md_table(b.header, b.rows))
        elif b.kind == "img":
            parts.append(f"![{b.text}]({b.path})")
        elif b.kind == "pre":
            parts.append(f"```\n{b.text}\n```")
    return "\n\n".join(parts) + "\n"


_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1200px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #2b6cb0; padding-bottom: .2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; }
th { background: #eef3f8; }
td:not(:first-child) { text-align: right; }
tr:nth-child(even) td { background: #fafafa; }
pre { background: #f5f5f5; padding: .8em; overflow-x: auto; font-size: 0.85em; }
img { max-width: 100%; border: 1px solid #eee; }
"""


def render_html(blocks: Sequence[Block], title: str) -> str:
    """The blocks as one HTML page with its CSS and images inline."""
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">', f"<title>{e(title)}</title>",
             f"<style>{_CSS}</style>", "</head>", "<body>"]
    for b in blocks:
        if b.kind in ("h1", "h2"):
            parts.append(f"<{b.kind}>{e(b.text)}</{b.kind}>")
        elif b.kind == "p":
            parts.append(f"<p>{_inline_html(b.text)}</p>")
        elif b.kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "table":
            head = "".join(f"<th>{e(h)}</th>" for h in b.header)
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in b.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif b.kind == "img":
            data = base64.b64encode(b.data).decode("ascii")
            parts.append(f'<p><img alt="{e(b.text)}" src="data:image/png;base64,{data}"></p>')
        elif b.kind == "pre":
            parts.append(f"<pre>{e(b.text)}</pre>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _inline_html(text: str) -> str:
    """Escape, then render the two Markdown inline forms the report uses: `code` and **bold**."""
    s = html.escape(text)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)

