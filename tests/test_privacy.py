"""The masking rule, and account numbers kept out of the access log."""

from __future__ import annotations

import logging

import pytest

from app.privacy import (
    AccessLogRedaction,
    mask,
    mask_account_no,
    mask_id_no,
    mask_name,
    mask_phone,
    redact_path,
    shown_account_no,
)


def test_an_id_number_keeps_its_first_and_last_four() -> None:
    assert mask_id_no("350201199001011234") == "3502**********1234"
    assert mask_id_no("11010519491231002X") == "1101**********002X"
    assert mask_id_no("110105491231002") == "1101*******1002"  # the old 15-digit kind
    assert mask_id_no(None) is None


def test_a_card_or_account_number_keeps_its_first_and_last_four_without_separators() -> None:
    assert mask_account_no("6222020201234567893") == "6222***********7893"
    assert mask_account_no("6222 0202 0123 4567 893") == "6222***********7893"
    assert mask_account_no("6217-0002-0123-4567") == "6217********4567"
    assert mask_account_no("chen.nvshi@qq.com") == "chen*********.com"


def test_a_phone_number_keeps_its_country_code_first_three_and_last_four() -> None:
    assert mask_phone("+8613800138000") == "+86 138****8000"
    assert mask_phone("+861088888888") == "+86 108****888"  # a Beijing landline
    assert mask_phone(None) is None


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("12345678", "12***678"),
        ("+85261234567", "+852****4567"),
        ("1234", "1**4"),
        ("12", "*2"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_a_short_value_keeps_less_so_that_a_third_is_always_hidden(value: str, masked: str) -> None:
    assert mask(value) == masked
    assert masked.count("*") * 3 >= len(value)


def test_only_a_victims_own_account_is_masked() -> None:
    number = "6222020201234567893"
    assert shown_account_no(number, victim=True) == "6222***********7893"
    assert shown_account_no(number, victim=False) == number


def test_account_numbers_in_a_query_string_are_masked() -> None:
    assert redact_path("/api/v1/cases?account_no=6222%200202%200123%204567%20893&page=2") == (
        "/api/v1/cases?account_no=6222***********7893&page=2"
    )
    assert redact_path("/api/v1/cases?status=stopping") == "/api/v1/cases?status=stopping"


def test_the_access_log_line_carries_no_account_number() -> None:
    # The record exactly as uvicorn.access makes it.
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/cases?account_no=6222020201234567893", "1.1", 200),
        None,
    )
    assert AccessLogRedaction().filter(record)
    line = record.getMessage()
    assert "6222020201234567893" not in line
    assert "account_no=6222***********7893" in line


def test_a_victim_s_name_keeps_the_first_character_of_each_word() -> None:
    assert mask_name("陈女士") == "陈**"
    assert mask_name("Chen Wei") == "C*** W**"
    assert mask_name("张") == "张*"  # never the whole name
    assert mask_name("  欧阳  娜娜 ") == "欧* 娜*"
