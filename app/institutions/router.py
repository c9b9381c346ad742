from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import case, select

from app.deps import AnyUser, DbSession
from app.institutions.models import Institution
from app.institutions.schemas import InstitutionRead

router = APIRouter(prefix="/api/v1", tags=["institutions"])

_KIND_ORDER = case(
    (Institution.kind == "national_platform", 0), (Institution.kind == "bank", 1), else_=2
)


@router.get("/institutions")
def list_institutions(db: DbSession, user: AnyUser) -> list[InstitutionRead]:
    """Every institution in the registry, national platform first, then banks, then payment."""
    rows = db.scalars(
        select(Institution)
        .where(Institution.is_active)
        .order_by(
            case(
                (Institution.kind == "national_platform", 0),
                (Institution.kind == "bank", 1),
                else_=2,
            ),
            Institution.code,
        )
    )
    return [InstitutionRead.model_validate(row) for row in rows]
