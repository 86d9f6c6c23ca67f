"""What every document of ours shares (invoices, credit notes, statements, proposals): the A4 page
with "Page i of n" on every page, the one money formatter, the issuing entity's block and the
file names people save them under."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from domain.rules.money import format_amount


def amount(amount_minor: int, currency: str) -> str:
    """An amount as our documents print it: the currency's decimals, thousands grouped."""
    return format_amount(int(amount_minor), currency)


def major(amount_minor: int, currency: str) -> str:
    """An amount as a file a machine reads back carries it (CSV): major units, no grouping."""
    return format_amount(int(amount_minor), currency, grouping=False)


def pct(rate: Decimal | str | None) -> str:
    """A tax rate as printed: 0.1200 -> "12%", 0.0725 -> "7.25%"."""
    if rate is None:
        return ""
    return f"{(Decimal(rate) * 100).normalize():f}%"


def esc(text: str | None) -> str:
    """Text for a reportlab Paragraph (its mini-markup): never read as tags."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slug(text: str, *, limit: int = 60) -> str:
    """A file-name part from a name: "Northwind Contact, Inc." -> "northwind-contact-inc"."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")
    return out[:limit].rstrip("-") or "client"


def safe_name(text: str) -> str:
    """A document number as a file-name part: letters, digits, dashes."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "document"


def attachment(filename: str) -> dict[str, str]:
    """The Content-Disposition header of a download (our file names are plain ASCII)."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def issuer_lines(site: Any) -> list[str]:
    """The issuing entity as printed at the top of a document: the site's legal name (its display
    name until finance sets one), address, tax id. `site` is a row or object with those fields."""
    legal = _get(site, "legal_name") or _get(site, "name") or ""
    out = [f"<b>{esc(legal)}</b>"]
    address = _get(site, "address") or ""
    out += [esc(part.strip()) for part in address.splitlines() if part.strip()]
    tax_id = _get(site, "tax_id") or ""
    out.append(f"Tax id: {esc(tax_id)}" if tax_id else "Tax id: (not set)")
    return out


def _get(obj: Any, key: str) -> Any:
    try:
        return obj[key]
    except (TypeError, KeyError):
        return getattr(obj, key, None)


def _numbered_canvas(label: str, filename: Any, **kw: Any) -> Any:
    """A canvas that holds its pages until the end, then writes "<label> · Page i of n" on each: the
    page count is known only once the whole story is laid out."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for i, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont("Helvetica", 7)
                width = self._pagesize[0]
                self.drawString(15 * mm, 8 * mm, label)
                self.drawRightString(width - 15 * mm, 8 * mm, f"Page {i} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas(filename, **kw)


@dataclass
class PdfPage:
    """The house style of our A4 documents: margins, paragraph styles and the grid of a table.
    ``render`` builds the story into PDF bytes, numbering every page."""

    styles: Any
    small: Any
    grid: Any
    doc: Any
    buf: io.BytesIO
    label: str = ""

    def render(self, story: list[Any]) -> bytes:
        self.doc.build(story, canvasmaker=partial(_numbered_canvas, self.label))
        return self.buf.getvalue()


def pdf_page(title: str, label: str | None = None) -> PdfPage:
    """An A4 document titled `title`; `label` (default: the title) is printed beside the page number."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, TableStyle

    styles = getSampleStyleSheet()
    buf = io.BytesIO()
    margin = 15 * mm
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin, bottomMargin=margin + 4 * mm, title=title
    )
    grid = TableStyle(
        [
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ]
    )
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    return PdfPage(styles, small, grid, doc, buf, label if label is not None else title)
