"""The intake form's JSON endpoints: drafts saved as the call-taker types."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.deps import DbSession, IntakeUser
from app.errors import Invalid, NotFound
from app.i18n import msg
from app.intake.schemas import DRAFT_KEY_PATTERN, DraftRead, DraftSummary, DraftWrite
from app.intake.service import delete_draft, find_draft, list_drafts, save_draft

api = APIRouter(prefix="/api/v1/drafts", tags=["drafts"])

DraftKey = Annotated[
    str,
    Path(
        pattern=DRAFT_KEY_PATTERN,
        description="The form's key for the call: the Idempotency-Key it will submit with.",
    ),
]


@api.get("", summary="Your drafts that have not become a case yet, newest first")
def index(db: DbSession, user: IntakeUser) -> list[DraftSummary]:
    """Your own drafts (the intake form saves one as you type), newest first."""
    return list_drafts(db, user=user)


@api.get("/{draft_key}", summary="One draft: every input of the form as typed")
def show(db: DbSession, user: IntakeUser, draft_key: DraftKey) -> DraftRead:
    """One of your drafts, every input as typed, to resume the form; 404 for anyone else's."""
    draft = find_draft(db, user=user, draft_key=draft_key)
    if draft is None:
        raise NotFound(msg("draft.not_found"))
    return draft


@api.put("/{draft_key}", summary="Save the whole form as it stands (replaces the draft)")
def save(db: DbSession, user: IntakeUser, draft_key: DraftKey, body: DraftWrite) -> DraftRead:
    """Replace the draft with the form as it stands now. Drafts are bounded in size and fields."""
    # PostgreSQL's jsonb cannot hold U+0000; refuse it here rather than fail in the database.
    if any("\x00" in name or "\x00" in text for name, text in body.fields.items()):
        raise Invalid(msg("problem.nul_character"))
    return save_draft(db, user=user, draft_key=draft_key, fields=body.fields)


@api.delete(
    "/{draft_key}",
    status_code=204,
    summary="Forget a draft (the form does this once the case is submitted)",
)
def remove(db: DbSession, user: IntakeUser, draft_key: DraftKey) -> Response:
    """Forget one of your drafts; forgetting one that is gone already is not an error."""
    delete_draft(db, user=user, draft_key=draft_key)
    return Response(status_code=204)
