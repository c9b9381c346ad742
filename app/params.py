"""Types for what arrives, shared by every route and request schema: ids within the range of
the column they look up, and booleans that are true or false, never 0, 1 or "yes"."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval
from pydantic import Strict

INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1

# The id of a row whose key is INTEGER (user, token, account, case, institution...): a larger
# number cannot name a row, and PostgreSQL would refuse to compare it with the column.
DbId = Annotated[int, Interval(ge=1, le=INT4_MAX)]
# The id of a row whose key is BIGINT (instruction, document, return, event...).
BigDbId = Annotated[int, Interval(ge=1, le=INT8_MAX)]
# JSON `true`/`false` only: `{"is_active": 0}` is a mistake to refuse, not a false.
StrictBool = Annotated[bool, Strict()]
