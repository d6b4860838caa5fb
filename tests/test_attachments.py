"""Files on experiences, storyboards and change-package entries: attached through the page's form, typed by their
content, images stripped of their metadata, names through the PHI guard, served only as downloads and only to those
who may read what they belong to."""

import html
import io
import struct
import zipfile
from urllib.parse import quote

import pytest
from sqlalchemy import select

from lhn import attachments, files
from lhn.accounts import services as accounts
from lhn.attachments import Attachment
from lhn.communities import services as communities
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.moderation import mydata
from lhn.programme import services as programme
from lhn.programme.models import EntryStatus, LearningSession, PackageEntry, Storyboard
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import PASSWORD, committed, login
from tests.forms import submit
from tests.measures.conftest import make_network
from tests.programme.test_package import HOW, build_network

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
STARTS, ENDS = "2031-06-10T14:00", "2031-06-10T16:00"


def jpeg_with_exif() -> bytes:
    """A JPEG's segments: JFIF, an EXIF block holding a place and a name, a comment, then the image data."""
    def segment(marker: int, body: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body

    return (b"\xff\xd8" + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            + segment(0xE1, b"Exif\x00\x00GPS 53.8008N 1.5491W Owner Jane Doe")
            + segment(0xFE, b"taken at Leeds clinic") + segment(0xDB, b"\x00" + bytes(64))
            + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x12\x34\x56" + b"\xff\xd9")  # fmt: skip


def png_with_text() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + b"\x00\x00\x00\x00"  # CRCs aren't checked here

    return (files.PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"tEXt", b"Author\x00Jane Doe") + chunk(b"eXIf", b"GPS 53.8N") + chunk(b"IDAT", b"\x78\x9c")
            + chunk(b"IEND", b""))  # fmt: skip


def office(*parts: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for part in parts:
            package.writestr(part, "<xml/>")
    return buffer.getvalue()


@pytest.fixture
def board(app, tmp_path):
    """A public community's session with North's storyboard (doc is North's verified clinician and the owner)."""
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "files")
    make_network(app)
    with committed(app):
        doc = accounts.get_user("doc")
        fields = programme.SessionFields(title="Spring session", starts=STARTS, ends=ENDS, time_zone="Europe/London")
        session = programme.create_session(communities.get_community("ibd"), fields, by=doc)
        storyboard = programme.save_storyboard(session, programme.StoryboardFields(site="north", aim="Remission"),
                                               by=doc)  # fmt: skip
        return {"url": f"/sessions/{session.id}/storyboards/{storyboard.id}", "id": storyboard.id,
                "session": session.id, "attach": f"/attachments/storyboard/{storyboard.id}/new",
                "files": tmp_path / "files"}  # fmt: skip


def _attach(client, board, data, name, **typed):
    return submit(client, board["attach"], "Attach", file=(data, name), **typed)


def _stored(app):
    with app.app_context():
        return list(db.session.scalars(select(Attachment)))


def test_the_site_team_attaches_slides_anyone_who_reads_the_storyboard_downloads_them(app, client, board):
    login(client, "doc")
    attached = _attach(client, board, PDF, "../../Spring slides v2.pdf")
    assert attached.status_code == 302, attached.text
    [stored] = _stored(app)
    assert (stored.filename, stored.content_type, stored.size) == ("Spring slides v2.pdf", "application/pdf", len(PDF))
    page = client.get(board["url"]).text
    link = f"/attachments/{stored.id}/{quote('Spring slides v2.pdf')}"
    assert f'href="{link}"' in page
    download = app.test_client().get(link)  # a public community: anyone may read the storyboard, and its files
    assert download.status_code == 200
    assert download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == "attachment; filename*=UTF-8''Spring%20slides%20v2.pdf"
    assert download.headers["Cache-Control"] == "private, no-store"
    assert sorted(p.name for p in board["files"].rglob("*") if p.is_file()) == [stored.storage_key]
    [listed] = client.get(f"/api/v1/sessions/{board['session']}/storyboards/north").json["attachments"]
    assert (listed["filename"], listed["url"], listed["size"]) == ("Spring slides v2.pdf", link, len(PDF))


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"<html><script>alert(1)</script></html>", "slides.pdf", "this one's content is none of them"),
    (b"MZ\x90\x00 an executable", "protocol.docx", "this one's content is none of them"),
    (office("[Content_Types].xml", "other/thing.xml"), "data.xlsx", "this one's content is none of them"),
    (b"\xff\xd8\xff\xe0\x00\xffbroken", "photo.jpg", "This image is damaged"),
    (b"", "", "Choose a file."),
    (b"%PDF-" + bytes(files.MAX_BYTES), "big.pdf", "Files may be up to 10 MB."),
])  # fmt: skip
def test_a_file_is_typed_by_its_content_and_refused_with_a_reason(app, client, board, data, name, message):
    login(client, "doc")
    refused = _attach(client, board, data, name)
    assert refused.status_code == 422
    assert message in html.unescape(refused.text)
    assert _stored(app) == []
    assert not board["files"].exists() or not any(p.is_file() for p in board["files"].rglob("*"))


def test_office_documents_are_recognised_by_their_parts(app, client, board):
    login(client, "doc")
    assert _attach(client, board, office("[Content_Types].xml", "word/document.xml"), "protocol").status_code == 302
    assert _attach(client, board, office("[Content_Types].xml", "ppt/presentation.xml"), "deck.ppt").status_code == 302
    assert [(a.filename, a.content_type.rsplit(".", 1)[1]) for a in _stored(app)] == [
        ("protocol.docx", "document"), ("deck.pptx", "presentation")]


def test_images_lose_their_metadata_and_keep_their_picture(app, client, board):
    login(client, "doc")
    assert _attach(client, board, jpeg_with_exif(), "huddle board.jpeg").status_code == 302
    assert _attach(client, board, png_with_text(), "chart.png").status_code == 302
    jpeg, png = _stored(app)
    saved_jpeg = client.get(f"/attachments/{jpeg.id}/x").data
    saved_png = client.get(f"/attachments/{png.id}/x").data
    for secret in (b"Exif", b"GPS", b"Jane Doe", b"Leeds"):
        assert secret not in saved_jpeg
        assert secret not in saved_png
    assert saved_jpeg.startswith(b"\xff\xd8\xff\xe0")  # JFIF kept
    assert saved_jpeg.endswith(b"\x12\x34\x56\xff\xd9")  # the image data untouched
    assert b"IHDR" in saved_png
    assert b"IDAT" in saved_png
    assert saved_png.endswith(b"IEND\x00\x00\x00\x00")
    assert jpeg.filename == "huddle board.jpg"


def test_the_phi_guard_warns_on_a_file_name_and_a_confirmation_attaches_it(app, client, board):
    login(client, "doc")
    warned = _attach(client, board, PDF, "discharge letter MRN 44910023.pdf")
    assert warned.status_code == 422
    assert "confirm_phi" in warned.text
    assert _stored(app) == []
    assert "MRN 44910023" not in warned.text  # a file can't be kept in a form: the person chooses it again
    confirmed = submit(client, board["attach"], "Attach", page=warned, file=(PDF, "discharge letter MRN 44910023.pdf"),
                       confirm_phi=True)  # fmt: skip
    assert confirmed.status_code == 302


def test_only_the_site_team_attaches_and_removes(app, client, board):
    login(client, "doc")
    _attach(client, board, PDF, "slides.pdf")
    [stored] = _stored(app)
    for who in ("dr_south", "teen"):  # another site's clinician, a patient
        login(client, who)
        assert client.get(board["attach"]).status_code == 403
        assert "Attach a file" not in client.get(board["url"]).text
        assert f"Remove {stored.filename}" not in client.get(board["url"]).text
    login(client, "doc")
    removed = submit(client, board["url"], "Remove slides.pdf")
    assert removed.status_code == 302
    assert _stored(app) == []
    assert not any(p.is_file() for p in board["files"].rglob("*"))  # the bytes went after the commit
    assert client.get(f"/attachments/{stored.id}/slides.pdf").status_code == 404


def test_a_restricted_communitys_files_are_for_its_members_alone(app, client, tmp_path):
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "files")
    make_network(app)
    with committed(app):
        owner = factories.user("clinician", username="owner", verified=True, institution="north")
        closed = factories.community(owner, slug="closed", restricted=True)
        factories.member(closed, factories.user("patient", username="member"))
        factories.member(communities.get_community("ibd"), factories.user("patient", username="elsewhere"))
        fields = programme.SessionFields(title="Members only", starts=STARTS, ends=ENDS, time_zone="Europe/London")
        session = programme.create_session(closed, fields, by=owner)
        storyboard = programme.save_storyboard(session, programme.StoryboardFields(site="north", aim="Ours"),
                                               by=owner)  # fmt: skip
        stored = attachments.attach("storyboard", storyboard.id, PDF, "plan.pdf", by=owner)
        link, attach_url = f"/attachments/{stored.id}/plan.pdf", f"/attachments/storyboard/{storyboard.id}/new"
    assert client.get(link).status_code == 404  # anonymous: not even that it exists
    for who in ("intruder", "elsewhere"):  # not a member; a member of another community
        login(client, who)
        assert client.get(link).status_code == 404, who
        assert client.get(attach_url).status_code == 404, who
    login(client, "member")
    assert client.get(link).data == PDF


def test_a_changes_proposer_attaches_its_protocol(app, client, tmp_path):
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "files")
    network = build_network(app)
    with committed(app):
        entry = programme.propose(communities.get_community("ibd"), network["huddle"], HOW,
                                  by=accounts.get_user("dr_south"))  # fmt: skip
        attach_url = f"/attachments/package_entry/{entry.id}/new"
    login(client, "dr_south")
    assert "Attach a file" in client.get("/c/ibd/change-package").text
    assert submit(client, attach_url, "Attach", file=(PDF, "huddle protocol.pdf")).status_code == 302
    assert "huddle protocol.pdf" in app.test_client().get("/c/ibd/change-package").text
    [proposed] = app.test_client().get("/api/v1/communities/ibd/change-package").json["proposed"]
    assert [a["filename"] for a in proposed["attachments"]] == ["huddle protocol.pdf"]
    login(client, "dr_east")  # a member, not its proposer nor an owner
    assert client.get(attach_url).status_code == 403


def test_an_experiences_author_attaches_files_that_its_readers_download(app, client, tmp_path):
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "files")
    make_network(app)
    with committed(app):
        community = communities.get_community("ibd")
        experience = factories.experience(community, accounts.get_user("dr_south"))
        page, attach_url = f"/c/ibd/experiences/{experience.id}", f"/attachments/experience/{experience.id}/new"
    anonymous = app.test_client()
    assert "Files" not in anonymous.get(page).text  # the page for readers who aren't logged in, now cached
    login(client, "teen")  # a member, not its author
    assert client.get(attach_url).status_code == 403
    assert "Attach a file" not in client.get(page).text
    login(client, "dr_south")
    assert "Attach a file" in client.get(page).text
    assert submit(client, attach_url, "Attach", file=(PDF, "infusion protocol.pdf")).status_code == 302
    [stored] = _stored(app)
    link = f"/attachments/{stored.id}/infusion%20protocol.pdf"
    assert f'href="{link}"' in anonymous.get(page).text  # the cached page was renewed with the file
    assert anonymous.get(link).data == PDF
    removed = submit(client, page, "Remove infusion protocol.pdf")
    assert removed.status_code == 302
    assert "infusion protocol.pdf" not in anonymous.get(page).text
    assert anonymous.get(link).status_code == 404


def test_the_api_lists_attaches_and_removes_as_the_pages_do(app, client, board):
    doc, south = bearer(token_for(client, "doc")), bearer(token_for(client, "dr_south"))
    url = f"/api/v1/attachments/storyboard/{board['id']}"
    assert client.get(url).json == {"items": [], "may_attach": False}  # anyone reads a public storyboard
    assert client.get(url, headers=doc).json["may_attach"] is True
    refused = client.post(url, headers=south, data={"file": (io.BytesIO(PDF), "slides.pdf")})
    assert_error(refused, 403, "forbidden")
    empty = client.post(url, headers=doc, data={})
    assert assert_error(empty, 422, "validation_failed")["fields"] == {"file": "Choose a file."}
    wrong = client.post(url, headers=doc, data={"file": (io.BytesIO(b"<svg onload=alert(1)>"), "chart.png")})
    assert "none of them" in assert_error(wrong, 422, "validation_failed")["fields"]["file"]
    made = client.post(url, headers=doc, data={"file": (io.BytesIO(PDF), "slides.pdf")})
    assert made.status_code == 201, made.text
    assert (made.json["filename"], made.json["content_type"]) == ("slides.pdf", "application/pdf")
    assert [a["url"] for a in client.get(url).json["items"]] == [made.json["url"]]
    assert client.get(made.json["url"]).data == PDF
    assert_error(client.get("/api/v1/attachments/nonsense/1"), 404, "not_found")
    assert_error(client.delete(f"/api/v1/attachments/{made.json['id']}", headers=south), 403, "forbidden")
    assert client.delete(f"/api/v1/attachments/{made.json['id']}", headers=doc).status_code == 204
    assert client.get(url).json["items"] == []
    assert "/attachments/{kind}/{owner_id}" in client.get("/api/v1/openapi.json").json["paths"]


@pytest.mark.parametrize("mode", ["keep", "remove"])
def test_my_data_lists_the_files_a_person_attached_and_deletion_keeps_or_removes_them(app, board, mode):
    with committed(app):
        south = accounts.get_user("dr_south")
        session_id = db.session.get(Storyboard, board["id"]).session_id
        storyboard = programme.save_storyboard(db.session.get(LearningSession, session_id),
                                               programme.StoryboardFields(site="south", aim="Ours"), by=south)
        attachments.attach("storyboard", storyboard.id, PDF, "slides.pdf", by=south)
    with app.app_context():
        [listed] = mydata.export_my_data(accounts.get_user("dr_south"))["attachments"]
        assert (listed["filename"], listed["attached_to"], listed["size"]) == ("slides.pdf", "storyboard", len(PDF))
    with committed(app):
        mydata.delete_account(accounts.get_user("dr_south"), password=PASSWORD, mode=mode)
    left = _stored(app)
    files_left = [p for p in board["files"].rglob("*") if p.is_file()]
    if mode == "keep":  # by "Former member", with the storyboard it belongs to
        assert [a.filename for a in left] == ["slides.pdf"]
        assert left[0].uploaded_by_id is not None
        assert len(files_left) == 1
    else:
        assert left == []
        assert files_left == []


def test_a_second_picture_after_the_end_and_its_exif_go_and_the_colour_profile_stays():
    def segment(marker: int, body: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body

    icc = segment(0xE2, b"ICC_PROFILE\x00\x01\x01display-p3")
    first = b"\xff\xd8" + icc + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x12\xff\x00\x34\xff\xd9"
    second = b"\xff\xd8" + segment(0xE1, b"Exif\x00\x00GPS-SECRET") + b"\xff\xda\x00\x02\x56\xff\xd9"
    checked = files.check_file(first + second, "photo.jpg")
    assert checked.data == first  # the stuffed FF00 in the data is not an end
    assert b"GPS-SECRET" not in checked.data


def test_an_archive_zipfile_cannot_open_is_refused_not_a_crash():
    docx = bytearray(office("[Content_Types].xml", "word/document.xml"))
    directory = docx.rfind(b"PK\x01\x02")
    docx[directory + 6] = 0xFF  # "version needed to extract": one zipfile refuses with NotImplementedError
    with pytest.raises(ValidationFailed):
        files.check_file(bytes(docx), "protocol.docx")


def test_a_file_over_the_app_wide_cap_goes_through_with_csrf_on(app, client, board):
    """The app refuses requests over 2 MiB; an upload may be 10 MB, and CSRF's check reads the form first."""
    login(client, "doc")
    app.config["WTF_CSRF_ENABLED"] = True  # after logging in: the test login posts without a token
    big = PDF + b"%" + bytes(3 * 1024 * 1024)
    assert _attach(client, board, big, "slides.pdf").status_code == 302
    assert [a.size for a in _stored(app)] == [len(big)]


def test_a_file_left_by_a_deleted_thing_never_shows_on_a_new_one_given_its_id(app, client, tmp_path):
    """SQLite gives a new row the id of the last one deleted: an entry deleted with its idea (a cascade the files
    don't see) must not hand its files to the next entry that takes its id."""
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "files")
    network = build_network(app)
    with committed(app):
        community, south = communities.get_community("ibd"), accounts.get_user("dr_south")
        entry = programme.propose(community, network["huddle"], HOW, by=south)
        stored = attachments.attach("package_entry", entry.id, PDF, "old protocol.pdf", by=south)
        entry_id, link = entry.id, f"/attachments/{stored.id}/old%20protocol.pdf"
    assert client.get(link).status_code == 200
    with committed(app):
        db.session.delete(db.session.get(PackageEntry, entry_id))  # as the idea's deletion cascades to it
        community = communities.get_community("ibd")
        other = factories.idea(community, accounts.get_user("teen"), title="Another adopted change")
        db.session.add(PackageEntry(id=entry_id, community_id=community.id, idea_id=other.id, title=other.title,
                                    summary=HOW, summary_html="", status=EntryStatus.PROPOSED))  # fmt: skip
    assert client.get(link).status_code == 404
    assert "old protocol.pdf" not in client.get("/c/ibd/change-package").text
    assert client.get(f"/api/v1/attachments/package_entry/{entry_id}").json["items"] == []
