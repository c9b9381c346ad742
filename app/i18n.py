"""Messages in Simplified Chinese and English; the user's language picks one."""

from __future__ import annotations

from typing import Literal, get_args

Language = Literal["zh-CN", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

MESSAGES: dict[str, dict[Language, str]] = {
    # Problem titles
    "problem.bad_request": {"zh-CN": "请求有误", "en": "Bad request"},
    "problem.unauthorized": {"zh-CN": "需要登录", "en": "Authentication required"},
    "problem.forbidden": {"zh-CN": "无权执行此操作", "en": "Not allowed"},
    "problem.not_found": {"zh-CN": "未找到", "en": "Not found"},
    "problem.method_not_allowed": {"zh-CN": "不支持该请求方法", "en": "Method not allowed"},
    "problem.conflict": {"zh-CN": "冲突", "en": "Conflict"},
    "problem.validation": {"zh-CN": "输入有误", "en": "Invalid input"},
    "problem.unavailable": {"zh-CN": "服务暂不可用", "en": "Service unavailable"},
    "problem.internal": {"zh-CN": "服务器内部错误", "en": "Internal error"},
    "problem.database_down": {
        "zh-CN": "数据库暂时无法访问，本次提交未保存，请稍后重试",
        "en": "The database is unreachable; nothing was saved. Try again shortly",
    },
    "problem.nul_character": {
        "zh-CN": "文本中不能含有 NUL 字符（U+0000）",
        "en": "Text cannot contain the NUL character (U+0000)",
    },
    "problem.validation_detail": {
        "zh-CN": "共 {count} 处输入有误，请按字段提示更正。",
        "en": "{count} field(s) need correcting; see errors.",
    },
    # Authentication
    "auth.bad_credentials": {"zh-CN": "用户名或密码错误", "en": "Wrong username or password"},
    "auth.missing": {
        "zh-CN": "请先登录，或在 Authorization 头中提供令牌",
        "en": "Log in, or send a bearer token in the Authorization header",
    },
    "auth.bad_token": {"zh-CN": "令牌无效或已过期", "en": "The token is invalid or expired"},
    "auth.role": {
        "zh-CN": "此操作需要以下角色之一：{roles}",
        "en": "This needs one of these roles: {roles}",
    },
    "auth.csrf": {
        "zh-CN": "表单已过期，请刷新页面后重试",
        "en": "The form has expired; reload the page and try again",
    },
    # Pages
    "app.name": {"zh-CN": "紧急止付系统", "en": "Rapid stop-payment"},
    "page.login": {"zh-CN": "登录", "en": "Log in"},
    "page.logout": {"zh-CN": "退出", "en": "Log out"},
    "page.username": {"zh-CN": "用户名", "en": "Username"},
    "page.password": {"zh-CN": "密码", "en": "Password"},
    "page.home": {"zh-CN": "首页", "en": "Home"},
    "page.signed_in_as": {"zh-CN": "当前用户", "en": "Signed in as"},
    "page.role": {"zh-CN": "角色", "en": "Role"},
    "page.unit": {"zh-CN": "单位", "en": "Unit"},
    "page.language": {"zh-CN": "语言", "en": "Language"},
    "page.api_docs": {"zh-CN": "接口文档（OpenAPI）", "en": "API documentation (OpenAPI)"},
    "page.institutions": {"zh-CN": "机构名录", "en": "Institution registry"},
    "page.coming": {
        "zh-CN": "接警录入、值班看板即将上线。",
        "en": "The intake form and the supervisors' dashboard come next.",
    },
    "role.call_taker": {"zh-CN": "接警员", "en": "Call-taker"},
    "role.supervisor": {"zh-CN": "值班长", "en": "Supervisor"},
    "role.admin": {"zh-CN": "管理员", "en": "Administrator"},
    # Readiness
    "ready.down": {"zh-CN": "以下依赖不可用：{names}", "en": "Unreachable: {names}"},
    # Generic field errors (pydantic error types)
    "field.missing": {"zh-CN": "必填项", "en": "This field is required"},
    "field.extra_forbidden": {"zh-CN": "不认识的字段", "en": "Unknown field"},
    "field.string_too_long": {
        "zh-CN": "最多 {max_length} 个字符",
        "en": "At most {max_length} characters",
    },
    "field.string_too_short": {
        "zh-CN": "至少 {min_length} 个字符",
        "en": "At least {min_length} characters",
    },
    "field.too_long": {"zh-CN": "最多 {max_length} 项", "en": "At most {max_length} items"},
    "field.too_short": {"zh-CN": "至少 {min_length} 项", "en": "At least {min_length} item(s)"},
    "field.invalid": {"zh-CN": "格式不正确", "en": "Invalid value"},
    "field.enum": {"zh-CN": "可选值：{expected}", "en": "Expected one of: {expected}"},
    "field.json_invalid": {"zh-CN": "JSON 格式错误", "en": "The body is not valid JSON"},
    "field.greater_than": {"zh-CN": "必须大于 {gt}", "en": "Must be greater than {gt}"},
    "field.less_than_equal": {"zh-CN": "不能超过 {le}", "en": "Must be at most {le}"},
    "field.decimal_max_places": {
        "zh-CN": "最多 {decimal_places} 位小数",
        "en": "At most {decimal_places} decimal places",
    },
    "field.decimal_parsing": {"zh-CN": "不是有效的金额", "en": "Not a valid amount"},
    "field.datetime_from_date_parsing": {
        "zh-CN": "不是有效的时间（如 2026-11-22T14:05:00+08:00）",
        "en": "Not a valid time (e.g. 2026-11-22T14:05:00+08:00)",
    },
    "field.datetime_parsing": {
        "zh-CN": "不是有效的时间（如 2026-11-22T14:05:00+08:00）",
        "en": "Not a valid time (e.g. 2026-11-22T14:05:00+08:00)",
    },
    "field.datetime_type": {
        "zh-CN": "不是有效的时间（如 2026-11-22T14:05:00+08:00）",
        "en": "Not a valid time (e.g. 2026-11-22T14:05:00+08:00)",
    },
    "field.string_type": {"zh-CN": "应为文本", "en": "Must be text"},
    "field.bool_type": {"zh-CN": "应为是/否", "en": "Must be true or false"},
    "field.bool_parsing": {"zh-CN": "应为是/否", "en": "Must be true or false"},
    "field.list_type": {"zh-CN": "应为列表", "en": "Must be a list"},
    "field.model_type": {"zh-CN": "应为对象", "en": "Must be an object"},
    "field.model_attributes_type": {"zh-CN": "应为对象", "en": "Must be an object"},
    "field.decimal_type": {"zh-CN": "不是有效的金额", "en": "Not a valid amount"},
    "field.dict_type": {"zh-CN": "应为对象", "en": "Must be an object"},
    # Case intake rules (app/cases/validation.py)
    "case.blank": {"zh-CN": "不能为空", "en": "Must not be blank"},
    "case.time_future": {"zh-CN": "时间不能晚于现在", "en": "Cannot be in the future"},
    "case.time_too_old": {
        "zh-CN": "不能早于报警时间一年以上",
        "en": "Cannot be more than a year before the call",
    },
    "case.received_too_old": {
        "zh-CN": "报警时间不能早于一年前",
        "en": "The call cannot have started more than a year ago",
    },
    "case.id_no": {
        "zh-CN": "不是有效的居民身份证号码（校验位或出生日期不对）",
        "en": "Not a valid resident ID number (check digit or birth date is wrong)",
    },
    "case.phone": {"zh-CN": "不是有效的电话号码", "en": "Not a valid phone number"},
    "case.enterprise_name": {
        "zh-CN": "受害单位为企业时必须填写企业名称",
        "en": "Required when the victim is an enterprise",
    },
    "case.institution_unknown": {
        "zh-CN": "没有代码为 {code} 的机构",
        "en": "No institution has the code {code}",
    },
    "case.institution_not_party": {
        "zh-CN": "{name}不是收付款机构",
        "en": "{name} does not hold accounts",
    },
    "case.institution_required": {
        "zh-CN": "无法从卡号识别发卡行，请选择机构",
        "en": "The card's bank cannot be told from its number; choose the institution",
    },
    "case.account_digits": {
        "zh-CN": "银行账号只能包含数字",
        "en": "A bank account number has digits only",
    },
    "case.account_length": {
        "zh-CN": "银行账号应为 {min}–{max} 位",
        "en": "A bank account number has {min}–{max} digits",
    },
    "case.card_length": {
        "zh-CN": "银行卡号应为 16–19 位",
        "en": "A bank card number has 16–19 digits",
    },
    "case.card_luhn": {
        "zh-CN": "卡号校验位不对，请核对是否输错",
        "en": "The card number's check digit is wrong; check for a typo",
    },
    "case.card_bin_mismatch": {
        "zh-CN": "卡号属于{bank}，与所选机构不符",
        "en": "This card number belongs to {bank}, not the institution chosen",
    },
    "case.account_spaces": {
        "zh-CN": "账号不能包含空格以外的空白字符",
        "en": "An account has no whitespace inside",
    },
    "case.same_account": {
        "zh-CN": "收款账户与付款账户相同",
        "en": "The receiving account is the paying account",
    },
    "case.no_origin": {
        "zh-CN": "无法判断哪个是受害人的账户：请从受害人付出的转账开始填写",
        "en": "Cannot tell which account is the victim's: start from the victim's own payments",
    },
    "case.not_found": {"zh-CN": "没有编号为 {case_no} 的警情", "en": "No case {case_no}"},
    "case.idempotency_mismatch": {
        "zh-CN": "该 Idempotency-Key 已用于另一份不同的报案，请换一个新键",
        "en": "This Idempotency-Key was used with a different report; send a new key",
    },
    "callback.unknown_institution": {
        "zh-CN": "没有代码为 {code} 的机构",
        "en": "No institution has the code {code}",
    },
    "callback.bad_signature": {
        "zh-CN": "回调签名无效或时间戳超出 5 分钟",
        "en": "Bad signature, or the timestamp is more than 5 minutes off",
    },
    "callback.not_yours": {
        "zh-CN": "该指令不存在或不属于此机构",
        "en": "No such instruction for this institution",
    },
    "callback.malformed": {
        "zh-CN": "回调内容格式不正确",
        "en": "The callback body is not a valid outcome report",
    },
    "trace.account_not_in_case": {
        "zh-CN": "本案中没有该机构的这个账户",
        "en": "This case has no such account at that institution",
    },
    "trace.query_open": {
        "zh-CN": "对该账户的查询尚未完成，请等待结果",
        "en": "A query about this account is still under way; wait for its answer",
    },
    "instruction.not_found": {
        "zh-CN": "该警情下没有编号为 {id} 的指令",
        "en": "Case has no instruction {id}",
    },
    "instruction.not_resendable": {
        "zh-CN": "只有被机构以“信息不符”或“拒绝”退回的止付指令可以更正重发",
        "en": "Only a stop-payment answered mismatch or rejected can be corrected and resent",
    },
    "case.qq": {"zh-CN": "QQ 号应为 5–12 位数字", "en": "A QQ number has 5–12 digits"},
}


def t(key: str, lang: Language, **params: object) -> str:
    text = MESSAGES[key][lang]
    return text.format(**params) if params else text


def negotiate(accept_language: str | None, default: Language) -> Language:
    """Pick zh-CN or en from an Accept-Language header, honouring q-values."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, Language]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        primary = tag.strip().lower().split("-")[0]
        if primary == "zh":
            ranked.append((weight, -position, "zh-CN"))
        elif primary == "en":
            ranked.append((weight, -position, "en"))
    if not ranked:
        return default
    return max(ranked)[2]
