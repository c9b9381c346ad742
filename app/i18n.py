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
