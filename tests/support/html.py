"""Reading an HTML report as a reader would: its parts, without a browser."""

from __future__ import annotations

from html.parser import HTMLParser


class ReadPage(HTMLParser):
    """What a reader of the HTML page finds: its section titles, headline figures, images, links and table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.figures: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.cells: list[str] = []
        self._into: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img":
            self.images.append(found.get("src") or "")
        elif tag == "a":
            self.links.append(found.get("href") or "")
        elif tag == "h2":
            self._into = self.sections
        elif tag == "div" and found.get("class") == "figure":
            self.figures.append("")
            self._into = self.figures
        elif tag == "td":
            self.cells.append("")
            self._into = self.cells

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h2", "td") or (tag == "section" and self._into is self.figures):
            self._into = None

    def handle_data(self, data: str) -> None:
        if self._into is self.sections:
            self.sections.append(data.strip())
        elif self._into is not None and self._into:
            self._into[-1] = " ".join(f"{self._into[-1]} {data}".split())
