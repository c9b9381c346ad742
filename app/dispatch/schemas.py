from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.cases.schemas import Amount


class InstructionCorrection(BaseModel):
    """The fields an institution reported as not matching, corrected; unset ones are kept."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"holder_name": "刘某某"}]},
    )

    holder_name: str | None = Field(default=None, min_length=1, max_length=100)
    amount: Amount | None = None
    transaction_time: dt.datetime | None = None
