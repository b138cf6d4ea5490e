"""Plain text from HTML email, with the stdlib parser: the text part of a multipart email."""

import re
from html.parser import HTMLParser

_SKIPPED_TAGS = {"script", "style", "title", "template", "head"}
# What may stand in <head>; anything else means the body began without a </head>.
_HEAD_TAGS = {"meta", "link", "title", "style", "script", "base", "noscript", "template"}
_PARAGRAPH_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "pre",
    "address", "figure", "hr",
}  # fmt: skip
_LINE_TAGS = {
    "div", "tr", "li", "section", "article", "header", "footer", "main", "nav", "aside",
    "dl", "dt", "dd", "center", "caption", "form", "tbody", "thead", "tfoot",
}  # fmt: skip
_CELL_TAGS = {"td", "th"}


class _TextExtractor(HTMLParser):
    """Collect the readable text of an HTML document, with line structure kept."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.pre_depth = 0
        self.links: list[tuple[str, int]] = []
        self.lists: list[int | None] = []  # None for <ul>, the next number for <ol>

    def text(self) -> str:
        lines = [line.rstrip() for line in "".join(self.parts).replace("\xa0", " ").split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")

    def _write(self, text: str) -> None:
        if text:
            self.parts.append(text)

    def _last_char(self) -> str:
        for part in reversed(self.parts):
            if part:
                return part[-1]
        return "\n"

    def _break(self, count: int) -> None:
        """End the current line or paragraph: make the output end with `count` newlines."""
        have = 0
        for char in reversed("".join(self.parts[-8:])):
            if char == "\n":
                have += 1
            elif char != " ":
                break
        self._write("\n" * max(0, count - have))

    def handle_starttag(self, tag, attrs):
        if self.skipping == ["head"] and tag not in _HEAD_TAGS:
            self.skipping.clear()
        if self.skipping or tag in _SKIPPED_TAGS:
            if tag in _SKIPPED_TAGS:
                self.skipping.append(tag)
            return
        attributes = dict(attrs)
        if tag == "br":
            self._write("\n")
        elif tag == "hr":
            self._break(2)
            self._write("----")
            self._break(2)
        elif tag in _PARAGRAPH_TAGS:
            self._break(2)
        elif tag in _LINE_TAGS:
            self._break(1)
        elif tag in _CELL_TAGS and self._last_char() not in " \n":
            self._write(" ")
        if tag == "pre":
            self.pre_depth += 1
        elif tag == "ul":
            self.lists.append(None)
        elif tag == "ol":
            self.lists.append(1)
        elif tag == "li":
            self._list_marker()
        elif tag == "a":
            self.links.append((attributes.get("href") or "", len(self.parts)))
        elif tag == "img" and attributes.get("alt"):
            self._write(attributes["alt"].strip())

    def _list_marker(self) -> None:
        number = self.lists[-1] if self.lists else None
        if number is None:
            self._write("- ")
        else:
            self._write(f"{number}. ")
            self.lists[-1] = number + 1

    def handle_endtag(self, tag):
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag == "a" and self.links:
            self._end_link(*self.links.pop())
        elif tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        elif tag in {"ul", "ol"} and self.lists:
            self.lists.pop()
        if tag in _PARAGRAPH_TAGS:
            self._break(2)
        elif tag in _LINE_TAGS:
            self._break(1)

    def _end_link(self, href: str, start: int) -> None:
        href = href.strip()
        label = " ".join("".join(self.parts[start:]).split())
        if not href or href.startswith(("#", "javascript:")):
            return
        shown = href.removeprefix("mailto:")
        if not label:
            self._write(shown)
        elif label not in (href, shown):
            self._write(f" ({shown})")

    def handle_data(self, data):
        if self.skipping:
            return
        if self.pre_depth:
            self._write(data)
            return
        data = re.sub(r"\s+", " ", data)
        if data.startswith(" ") and self._last_char() in " \n":
            data = data[1:]
        self._write(data)


def html_to_text(html: str) -> str:
    """Turn an HTML email into readable plain text: paragraphs kept, links as "text (url)"."""
    parser = _TextExtractor()
    parser.feed(html or "")
    parser.close()
    return parser.text()
