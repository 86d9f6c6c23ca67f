"""Attachments: size and type limits, sanitized names, kept in the database or a folder by SHA-256, always a
download, internal ones hidden from the client."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from domain.helpdesk.comments import safe_filename
from tests.factories import Api
from tests.helpdesk.conftest import Desk

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


async def upload(api: Api, ticket_id: str, name: str, data: bytes, ctype: str, expect: int = 201, **form: str) -> Any:
    r = await api.call("POST", f"/v1/tickets/{ticket_id}/attachments", expect, files={"file": (name, data, ctype)}, data=form)
    return r.json()


async def test_a_client_attaches_a_picture_and_downloads_it_as_a_file(desk: Desk, staff: Api, db: asyncpg.Pool) -> None:
    t = await desk.client.post("/v1/tickets", desk.body())
    att = await upload(desk.client, t["id"], "../../etc/<seat 12>.png", PNG, "image/png")
    assert att["filename"] == "_seat 12_.png"  # no folders, nothing a header or a shell reads as syntax
    assert (att["size_bytes"], att["sha256"], att["internal"]) == (len(PNG), hashlib.sha256(PNG).hexdigest(), False)
    r = await desk.client.call("GET", f"/v1/tickets/{t['id']}/attachments/{att['id']}", 200)
    assert r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"].startswith('attachment; filename="_seat 12_.png"')
    assert r.headers["x-content-type-options"] == "nosniff"
    row = await db.fetchrow(
        "SELECT storage_path, content IS NOT NULL AS in_db FROM ticket_attachments WHERE id = $1", uuid.UUID(att["id"])
    )
    assert (row["storage_path"], row["in_db"]) == (None, True)
    events = (await desk.client.get(f"/v1/tickets/{t['id']}/events"))["items"]
    assert events[-1]["kind"] == "attachment"
    assert events[-1]["data"]["filename"] == "_seat 12_.png"


async def test_limits_of_size_and_type_name_the_file(desk: Desk, ticket_settings: Any) -> None:
    t = await desk.client.post("/v1/tickets", desk.body())
    r = await upload(desk.client, t["id"], "x.html", b"<script>alert(1)</script>", "text/html", 415)
    assert r["field"] == "file"
    r = await upload(desk.client, t["id"], "x.png", b"<svg onload=alert(1)>", "image/png", 422)  # not a PNG by its bytes
    assert r["field"] == "file"
    r = await upload(desk.client, t["id"], "x.txt", b"\xff\xfe\x00", "text/plain", 422)
    assert r["field"] == "file"
    ticket_settings(ticket_attachment_max_bytes=20)
    r = await upload(desk.client, t["id"], "x.png", PNG, "image/png", 413)
    assert r["field"] == "file"
    assert (await desk.client.get(f"/v1/tickets/{t['id']}/attachments"))["items"] == []


async def test_with_a_folder_the_file_is_kept_there_by_its_sha256(
    desk: Desk, ticket_settings: Any, tmp_path: Path, db: asyncpg.Pool
) -> None:
    ticket_settings(ticket_attachment_dir=tmp_path)
    t = await desk.client.post("/v1/tickets", desk.body())
    data = b"line 1\nline 2\n"
    att = await upload(desk.client, t["id"], "log.txt", data, "text/plain; charset=utf-8")
    digest = hashlib.sha256(data).hexdigest()
    assert (tmp_path / digest).read_bytes() == data
    row = await db.fetchrow("SELECT storage_path, content FROM ticket_attachments WHERE id = $1", uuid.UUID(att["id"]))
    assert (row["storage_path"], row["content"]) == (digest, None)
    r = await desk.client.call("GET", f"/v1/tickets/{t['id']}/attachments/{att['id']}", 200)
    assert r.content == data
    assert r.headers["content-type"].startswith("text/plain")


async def test_internal_attachments_are_staff_only(desk: Desk, staff: Api) -> None:
    t = await desk.client.post("/v1/tickets", desk.body())
    secret = await upload(staff, t["id"], "rma.pdf", b"%PDF-1.4 vendor", "application/pdf", internal="true")
    assert secret["internal"] is True
    await desk.client.call("GET", f"/v1/tickets/{t['id']}/attachments/{secret['id']}", 404)
    assert (await desk.client.get(f"/v1/tickets/{t['id']}/attachments"))["items"] == []
    assert [e["kind"] for e in (await desk.client.get(f"/v1/tickets/{t['id']}/events"))["items"]] == ["raised"]
    assert (await staff.call("GET", f"/v1/tickets/{t['id']}/attachments/{secret['id']}", 200)).content.startswith(b"%PDF")
    r = await upload(desk.client, t["id"], "a.png", PNG, "image/png", 403, internal="true")
    assert r["field"] == "internal"
    # another tenant's attachment is 404 even with the right ticket id
    mine = await upload(desk.client, t["id"], "a.png", PNG, "image/png")
    await desk.other.call("GET", f"/v1/tickets/{t['id']}/attachments/{mine['id']}", 404)
    await upload(desk.other, t["id"], "a.png", PNG, "image/png", 404)


def test_file_names_are_cleaned_of_folders_controls_and_syntax() -> None:
    assert safe_filename("C:\\Users\\me\\photo.jpg") == "photo.jpg"
    assert safe_filename("../../.bashrc") == "bashrc"
    assert safe_filename("a\x00b\r\nc;rm -rf.png") == "abc_rm -rf.png"
    assert safe_filename('x"; filename="evil.html') == "x_ filename_evil.html"
    assert safe_filename("...") == "attachment"
    assert safe_filename("é" * 300 + ".pdf").endswith(".pdf")
    assert len(safe_filename("é" * 300 + ".pdf")) == 200
