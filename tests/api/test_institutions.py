from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import bearer, make_user


def test_institutions_need_a_login(client: TestClient) -> None:
    assert client.get("/api/v1/institutions").status_code == 401


def test_institutions_list_platform_then_banks_then_payment(
    client: TestClient, db: Session
) -> None:
    response = client.get("/api/v1/institutions", headers=bearer(db, make_user(db)))
    assert response.status_code == 200
    kinds = [i["kind"] for i in response.json()]
    assert kinds[0] == "national_platform"
    first_payment = kinds.index("payment_institution")
    assert set(kinds[1:first_payment]) == {"bank"}
    assert set(kinds[first_payment:]) == {"payment_institution"}
    icbc = next(i for i in response.json() if i["code"] == "ICBC")
    assert icbc["name_zh"] == "中国工商银行"
    assert "callback_secret" not in icbc
