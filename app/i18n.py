"""Messages in Simplified Chinese and English; the user's language picks one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Language = Literal["zh-CN", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)


@dataclass(frozen=True)
class Named:
    """A name the registry holds in both languages (an institution's): a message parameter
    that `t` puts in the message's own language."""

    zh: str
    en: str

    def in_language(self, lang: Language) -> str:
        return self.zh if lang == "zh-CN" else self.en


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
    "problem.lone_surrogate": {
        "zh-CN": "文本中含有无法保存的单独 UTF-16 代理项（如 \\ud800）",
        "en": "Text holds a lone UTF-16 surrogate (such as \\ud800), which cannot be stored",
    },
    "field.lone_surrogate": {
        "zh-CN": "文本中含有无法保存的单独 UTF-16 代理项（如 \\ud800）",
        "en": "Text holds a lone UTF-16 surrogate (such as \\ud800), which cannot be stored",
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
    "auth.scope": {
        "zh-CN": "此令牌没有权限范围 {scope}，不能执行此操作",
        "en": "This token lacks the scope {scope}",
    },
    "auth.scope_not_for_role": {
        "zh-CN": "角色“{role}”不能持有以下权限范围：{scopes}",
        "en": "The role {role} may not hold these scopes: {scopes}",
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
        "zh-CN": "值班看板即将上线。",
        "en": "The supervisors' dashboard comes next.",
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
    "field.greater_than_equal": {"zh-CN": "不能小于 {ge}", "en": "Must be at least {ge}"},
    "field.int_parsing": {"zh-CN": "应为整数", "en": "Must be a whole number"},
    "field.int_type": {"zh-CN": "应为整数", "en": "Must be a whole number"},
    "field.literal_error": {"zh-CN": "可选值：{expected}", "en": "Expected one of: {expected}"},
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
    "callback.institution_disabled": {
        "zh-CN": "机构 {code} 已停用，不接受其回调",
        "en": "Institution {code} is disabled; its callbacks are refused",
    },
    "callback.refused": {
        "zh-CN": "回调被拒收（{count} 处问题），未应用任何内容，已记录备查",
        "en": "Callback refused ({count} problem(s)): nothing applied, the refusal kept on record",
    },
    "callback.webhook_id_long": {
        "zh-CN": "webhook-id 不能超过 {max} 个字符",
        "en": "webhook-id must not be longer than {max} characters",
    },
    "callback.not_json": {
        "zh-CN": "回调内容不是有效的 JSON（UTF-8，数字须为有限值）",
        "en": "The body is not valid JSON (UTF-8, finite numbers)",
    },
    "callback.too_deep": {
        "zh-CN": "JSON 嵌套超过 {max} 层",
        "en": "JSON nested more than {max} levels deep",
    },
    "callback.field_rule": {"zh-CN": "不符合规则：{rule}", "en": "Breaks a rule: {rule}"},
    "callback.kind_mismatch": {
        "zh-CN": "指令类型是 {kind}，与回调所报不符",
        "en": "The instruction is a {kind}, not what the callback says",
    },
    "callback.outcome_not_allowed": {
        "zh-CN": "{kind} 指令的结果只能是：{allowed}",
        "en": "A {kind} instruction's outcome can only be one of: {allowed}",
    },
    "callback.time_range": {
        "zh-CN": "时间应在 {earliest} 至 {latest} 之间",
        "en": "Must be between {earliest} and {latest}",
    },
    "callback.amount_required": {
        "zh-CN": "止付或冻结成功时须报告大于 0 的金额",
        "en": "A stop or freeze that held money must report an amount above 0",
    },
    "callback.amount_over_asked": {
        "zh-CN": "金额超过指令要求的 {asked}",
        "en": "More than the {asked} the instruction asked for",
    },
    "callback.amount_full_partial": {
        "zh-CN": "结果 {outcome} 与金额不符（指令要求 {asked}：全额须相等，部分须小于）",
        "en": "Does not fit {outcome} (asked {asked}: full must equal it, partial be below it)",
    },
    "callback.amount_not_zero": {
        "zh-CN": "结果为 {outcome} 时金额只能为空或 0",
        "en": "With outcome {outcome} the amount must be empty or 0",
    },
    "callback.amount_over_balance": {
        "zh-CN": "金额超过机构报告的余额 {balance}",
        "en": "More than the balance of {balance} the institution reported",
    },
    "callback.amount_under_balance": {
        "zh-CN": "部分止付/冻结须控制报告的全部余额 {balance}",
        "en": "A partial stop or freeze holds all of the {balance} balance it reported",
    },
    "callback.balance_with_no_funds": {
        "zh-CN": "结果为 no_funds 时余额须为 0（报告了 {balance}）",
        "en": "With outcome no_funds the balance must be 0 (it reported {balance})",
    },
    "auth.locked_out": {
        "zh-CN": "登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试",
        "en": "Too many failed log-ins: locked for now, try again in {minutes} minute(s)",
    },
    "problem.too_many_log_ins": {"zh-CN": "登录尝试过多", "en": "Too many log-in attempts"},
    # Clients: slow bodies and live streams (app/middleware.py, app/intake/live.py)
    "problem.request_timeout": {"zh-CN": "请求超时", "en": "Request timeout"},
    "clients.body_timeout": {
        "zh-CN": "请求体未在 {seconds} 秒内传完，未保存。",
        "en": "The request body did not arrive within {seconds} s; nothing was saved.",
    },
    "problem.too_many_requests": {"zh-CN": "请求过多", "en": "Too many requests"},
    "clients.slow_bodies": {
        "zh-CN": "来自该地址的未传完请求过多，本次未保存，请稍后重试。",
        "en": "Too many unfinished requests from this address; nothing was saved. "
        "Try again shortly.",
    },
    "clients.too_many_streams": {
        "zh-CN": "实时更新连接过多（每个用户最多 {per_user} 个，"
        "每个令牌或登录最多 {per_credential} 个），请关闭其他页面后重试。",
        "en": "Too many live updates open (at most {per_user} per user and {per_credential} "
        "per token or log-in); close another page and try again.",
    },
    "clients.pool_busy": {
        "zh-CN": "数据库连接全部占用，本次未保存，请稍后重试。",
        "en": "Every database connection is busy; nothing was saved. Try again shortly.",
    },
    "admin.no_such_user": {"zh-CN": "没有用户 {username}", "en": "No user {username}"},
    "admin.no_such_unit": {"zh-CN": "没有单位 {unit}", "en": "No unit {unit}"},
    "admin.username_taken": {
        "zh-CN": "用户名 {username} 已被使用",
        "en": "The username {username} is taken",
    },
    "admin.no_such_token": {"zh-CN": "没有令牌 #{id}", "en": "No token #{id}"},
    "admin.user_inactive": {
        "zh-CN": "用户 {username} 已停用，不能为其签发令牌",
        "en": "{username} is deactivated: no token can be issued for them",
    },
    "admin.not_yourself": {
        "zh-CN": "不能停用自己的账号或取消自己的管理员角色",
        "en": "You cannot deactivate yourself or give up your own admin role",
    },
    # The admin pages (app/auth/admin_pages.py)
    "admin.title": {"zh-CN": "用户管理", "en": "People"},
    "admin.new_user": {"zh-CN": "新建用户", "en": "New user"},
    "admin.username": {"zh-CN": "用户名", "en": "Username"},
    "admin.display_name": {"zh-CN": "姓名", "en": "Display name"},
    "admin.role": {"zh-CN": "角色", "en": "Role"},
    "admin.unit": {"zh-CN": "单位", "en": "Unit"},
    "admin.unit_code": {"zh-CN": "单位代码", "en": "Unit code"},
    "admin.language": {"zh-CN": "语言", "en": "Language"},
    "admin.initial_password": {"zh-CN": "初始密码", "en": "Initial password"},
    "admin.password_rule": {"zh-CN": "至少 12 个字符", "en": "At least 12 characters"},
    "admin.username_rule": {
        "zh-CN": "字母、数字、点、下划线或连字符，3–64 个",
        "en": "3–64 letters, digits, dots, underscores or hyphens",
    },
    "admin.username_chars": {
        "zh-CN": "只能使用字母、数字、点（.）、下划线（_）和连字符（-）",
        "en": "Letters, digits, dots, underscores and hyphens only",
    },
    "admin.create": {"zh-CN": "创建用户", "en": "Create user"},
    "admin.people": {"zh-CN": "人员", "en": "People"},
    "admin.active": {"zh-CN": "状态", "en": "Status"},
    "admin.is_active": {"zh-CN": "启用", "en": "active"},
    "admin.is_inactive": {"zh-CN": "已停用", "en": "deactivated"},
    "admin.last_login": {"zh-CN": "最近登录", "en": "Last log-in"},
    "admin.never": {"zh-CN": "从未", "en": "never"},
    "admin.you": {"zh-CN": "本人", "en": "you"},
    "admin.manage_hint": {
        "zh-CN": "点击一行（或按回车）展开：重置密码、更改角色、停用、API 令牌",
        "en": "Open a row (click, or Enter) to reset the password, change the role, deactivate, "
        "or manage API tokens",
    },
    "admin.reset_password": {"zh-CN": "重置密码", "en": "Reset password"},
    "admin.new_password": {"zh-CN": "新密码", "en": "New password"},
    "admin.reset_hint": {
        "zh-CN": "重置后，该用户的所有会话立即结束，API 令牌全部作废",
        "en": "Their sessions end and their API tokens are revoked at once",
    },
    "admin.change_role": {"zh-CN": "更改角色", "en": "Change role"},
    "admin.role_hint": {
        "zh-CN": "其令牌只保留新角色可持有的权限范围",
        "en": "Their tokens keep only the scopes the new role may hold",
    },
    "admin.account": {"zh-CN": "账号", "en": "Account"},
    "admin.deactivate": {"zh-CN": "停用账号", "en": "Deactivate"},
    "admin.reactivate": {"zh-CN": "重新启用", "en": "Reactivate"},
    "admin.deactivate_hint": {
        "zh-CN": "停用后立即无法登录，会话结束，API 令牌作废",
        "en": "They can no longer log in; sessions and API tokens are cut off at once",
    },
    "admin.reactivate_hint": {
        "zh-CN": "重新启用后可以登录；已作废的令牌不会恢复",
        "en": "They can log in again; revoked tokens stay revoked",
    },
    "admin.cannot_self": {
        "zh-CN": "不能停用自己的账号",
        "en": "You cannot deactivate yourself",
    },
    "admin.tokens": {"zh-CN": "API 令牌", "en": "API tokens"},
    "admin.tokens_empty": {"zh-CN": "暂无令牌", "en": "No tokens"},
    "admin.token_name": {"zh-CN": "名称", "en": "Name"},
    "admin.token_scopes": {"zh-CN": "权限范围", "en": "Scopes"},
    "admin.token_created": {"zh-CN": "签发时间", "en": "Created"},
    "admin.token_expires": {"zh-CN": "到期", "en": "Expires"},
    "admin.token_last_used": {"zh-CN": "最近使用", "en": "Last used"},
    "admin.token_revoked": {"zh-CN": "作废时间", "en": "Revoked"},
    "admin.token_expired": {"zh-CN": "已过期", "en": "expired"},
    "admin.revoke": {"zh-CN": "作废", "en": "Revoke"},
    "admin.issue_token": {"zh-CN": "签发令牌", "en": "Issue token"},
    "admin.token_name_hint": {
        "zh-CN": "用途，如“银行门户只读”",
        "en": "What it is for, e.g. bank portal read-only",
    },
    "admin.expires_days": {"zh-CN": "有效天数", "en": "Expires in (days)"},
    "admin.expires_default": {
        "zh-CN": "1–365，留空为 {days} 天",
        "en": "1–365; blank: {days}",
    },
    "admin.scopes_for_role": {
        "zh-CN": "只列出该角色可持有的权限范围",
        "en": "Only the scopes this role may hold",
    },
    "admin.token_issued": {"zh-CN": "已签发 API 令牌", "en": "API token issued"},
    "admin.token_for": {"zh-CN": "用户", "en": "For"},
    "admin.token_value": {"zh-CN": "令牌", "en": "Token"},
    "admin.token_once": {
        "zh-CN": "此令牌只显示这一次：请立即复制（选中后按 Ctrl+C）并妥善保存。"
        "之后无法再次查看；如遗失，请作废后重新签发。",
        "en": "This is the only time the token is shown: copy it now (select it, then Ctrl+C) "
        "and keep it safe. It cannot be read again; if it is lost, revoke it and issue another.",
    },
    "admin.back": {"zh-CN": "返回用户管理", "en": "Back to people"},
    "admin.flash.created": {"zh-CN": "已创建用户 {username}", "en": "Created {username}"},
    "admin.flash.password_reset": {
        "zh-CN": "已重置 {username} 的密码；其会话已结束，令牌已作废",
        "en": "New password set for {username}; their sessions and tokens are cut off",
    },
    "admin.flash.role_changed": {
        "zh-CN": "已保存 {username} 的角色",
        "en": "Saved the role of {username}",
    },
    "admin.flash.deactivated": {
        "zh-CN": "已停用 {username}；其会话已结束，令牌已作废",
        "en": "Deactivated {username}; their sessions and tokens are cut off",
    },
    "admin.flash.activated": {"zh-CN": "已重新启用 {username}", "en": "Reactivated {username}"},
    "admin.flash.token_issued": {
        "zh-CN": "已为 {username} 签发令牌",
        "en": "Issued a token for {username}",
    },
    "admin.flash.token_revoked": {
        "zh-CN": "已作废 {username} 的令牌",
        "en": "Revoked a token of {username}",
    },
    "scope.cases:read": {"zh-CN": "查看警情", "en": "read cases"},
    "scope.cases:write": {"zh-CN": "录入警情", "en": "report cases"},
    "scope.holds:write": {"zh-CN": "止付、冻结、返还操作", "en": "holds, freezes, returns"},
    "scope.admin": {"zh-CN": "系统管理", "en": "administration"},
    "scope.pii:reveal": {"zh-CN": "查看未遮蔽的个人信息", "en": "see personal data unmasked"},
    # The legal clock
    "legal.under_way": {
        "zh-CN": "该账户已有指令（#{id}）在办理中，请等待机构答复后再操作",
        "en": "An instruction about this account (#{id}) is still under way; wait for its outcome",
    },
    "legal.nothing_to_renew": {
        "zh-CN": "该账户在本案中没有生效中的止付或冻结，无可延长；已过期的请直接办理冻结",
        "en": "This case holds nothing on this account now, so there is nothing to renew; "
        "freeze it instead",
    },
    "legal.stop_limit": {
        "zh-CN": "同一账户在本案中最多止付 {max} 次，已达上限，不能再次止付；请在到期前办理冻结",
        "en": "An account can be stopped at most {max} times in a case and this one has been; "
        "freeze it before the stop-payment lapses",
    },
    "legal.document_required": {
        "zh-CN": "续冻需要填写新的冻结法律文书编号",
        "en": "Renewing a freeze needs the new freeze document number",
    },
    "legal.already_frozen": {
        "zh-CN": "该账户已冻结（至 {expires_at}）；如需延长，请办理续冻",
        "en": "This account is already frozen (until {expires_at}); renew the freeze instead",
    },
    "legal.amount_required": {
        "zh-CN": "该账户没有止付金额可转为冻结，请填写冻结金额",
        "en": "Nothing is stopped on this account to convert; give the amount to freeze",
    },
    "legal.nothing_to_release": {
        "zh-CN": "该账户在本案中没有生效中的止付或冻结，无需解除",
        "en": "This case holds nothing on this account now; there is nothing to release",
    },
    "legal.scan_not_base64": {
        "zh-CN": "扫描件内容应为 Base64 编码",
        "en": "The scan's content must be base64",
    },
    "legal.scan_empty": {"zh-CN": "扫描件为空", "en": "The scan is empty"},
    "legal.scan_too_large": {
        "zh-CN": "扫描件不能超过 {max_mb} MB",
        "en": "The scan must be at most {max_mb} MB",
    },
    "legal.scan_wrong_type": {
        "zh-CN": "扫描件内容与类型 {type} 不符",
        "en": "The scan's content is not {type}",
    },
    "legal.nothing_frozen": {
        "zh-CN": "该账户目前没有生效中的冻结，不能返还",
        "en": "Nothing is frozen on this account now, so nothing can be returned from it",
    },
    "legal.nothing_to_return": {
        "zh-CN": "该账户冻结的资金已全部确认返还",
        "en": "Everything frozen on this account has already been returned or confirmed",
    },
    "legal.return_exceeds_frozen": {
        "zh-CN": "返还总额不能超过冻结金额 {frozen} 元",
        "en": "Returns cannot exceed the {frozen} CNY frozen",
    },
    "legal.proposal_changed": {
        "zh-CN": "返还方案已变化（有新的返还、转账或冻结），请重新查看后再确认",
        "en": "The proposed split has changed (a new return, transfer or freeze); review it "
        "again, then confirm",
    },
    "legal.return_not_found": {
        "zh-CN": "该警情下没有编号为 {id} 的返还",
        "en": "Case has no return {id}",
    },
    "legal.return_already_paid": {
        "zh-CN": "该笔返还已登记为已支付",
        "en": "This return is already recorded as paid",
    },
    "legal.notice_running": {
        "zh-CN": "按比例返还须待公告期满，{until} 起方可支付",
        "en": "A pro-rata return waits for its public notice: payable from {until}",
    },
    "legal.document_not_found": {
        "zh-CN": "该警情下没有编号为 {id} 的文书",
        "en": "Case has no document {id}",
    },
    "legal.clock_fixed": {
        "zh-CN": "时钟不可调整（仅测试与演示环境可开启 STOPAY_SETTABLE_CLOCK）",
        "en": "The clock is not settable (STOPAY_SETTABLE_CLOCK, for tests and demos only)",
    },
    "instruction.not_found": {
        "zh-CN": "该警情下没有编号为 {id} 的指令",
        "en": "Case has no instruction {id}",
    },
    "instruction.already_resent": {
        "zh-CN": "该指令已更正重发过一次，重发的指令为 {replacement_id}；请在该指令上继续处理",
        "en": "This instruction was already corrected and resent as instruction "
        "{replacement_id}; act on that one",
    },
    "action.idempotency_mismatch": {
        "zh-CN": "该 Idempotency-Key 已用于另一个不同的请求，请换一个新键",
        "en": "This Idempotency-Key was used with a different request; send a new key",
    },
    "instruction.account_under_way": {
        "zh-CN": "该账户已有{kind}指令（#{id}）在办理中，请等待机构答复后再更正重发",
        "en": "A {kind} instruction about this account (#{id}) is still under way; "
        "wait for its outcome before resending",
    },
    "instruction.not_resendable": {
        "zh-CN": "只有被机构以“信息不符”或“拒绝”退回的止付指令可以更正重发",
        "en": "Only a stop-payment answered mismatch or rejected can be corrected and resent",
    },
    "case.qq": {"zh-CN": "QQ 号应为 5–12 位数字", "en": "A QQ number has 5–12 digits"},
    # The intake form (app/intake)
    "draft.not_found": {"zh-CN": "没有这份草稿", "en": "No such draft"},
    "form.title": {"zh-CN": "接警录入", "en": "Call intake"},
    "form.new_call": {"zh-CN": "新警情", "en": "New call"},
    "form.section.call": {"zh-CN": "报警信息", "en": "Call"},
    "form.received_at": {"zh-CN": "报警时间", "en": "Call started"},
    "form.channel": {"zh-CN": "报警方式", "en": "Channel"},
    "form.section.victim": {"zh-CN": "受害人", "en": "Victim"},
    "form.victim.name": {"zh-CN": "姓名", "en": "Name"},
    "form.victim.id_no": {"zh-CN": "身份证号", "en": "Resident ID"},
    "form.victim.phone": {"zh-CN": "联系电话", "en": "Phone"},
    "form.victim.is_enterprise": {"zh-CN": "受害方为企业", "en": "Enterprise victim"},
    "form.victim.enterprise_name": {"zh-CN": "企业名称", "en": "Enterprise name"},
    "form.section.fraud": {"zh-CN": "诈骗类型", "en": "Fraud type"},
    "form.fraud_hint": {"zh-CN": "输入关键字筛选", "en": "Type to filter"},
    "form.section.transfers": {"zh-CN": "转账记录", "en": "Transfers"},
    "form.t.from": {"zh-CN": "付款账号", "en": "From account"},
    "form.t.from_inst": {"zh-CN": "付款机构", "en": "From inst."},
    "form.t.to": {"zh-CN": "收款账号", "en": "To account"},
    "form.t.to_inst": {"zh-CN": "收款机构", "en": "To inst."},
    "form.t.to_holder": {"zh-CN": "收款户名", "en": "To holder"},
    "form.t.amount": {"zh-CN": "金额（元）", "en": "Amount (CNY)"},
    "form.t.time": {"zh-CN": "转账时间", "en": "Time"},
    "form.t.channel": {"zh-CN": "方式", "en": "Channel"},
    "form.t.reference": {"zh-CN": "流水号", "en": "Reference"},
    "form.t.remove": {"zh-CN": "删除此行", "en": "Remove row"},
    "form.inst_hint": {"zh-CN": "卡号自动识别", "en": "From the card"},
    "form.section.contacts": {"zh-CN": "嫌疑人联系方式", "en": "Suspect contacts"},
    "form.c.kind": {"zh-CN": "类型", "en": "Kind"},
    "form.c.value": {"zh-CN": "号码 / 账号 / 网址", "en": "Number / handle / URL"},
    "form.section.narrative": {"zh-CN": "简要案情", "en": "Narrative"},
    "form.add_transfer": {"zh-CN": "添加转账", "en": "Add transfer"},
    "form.add_contact": {"zh-CN": "添加联系方式", "en": "Add contact"},
    "form.submit": {"zh-CN": "提交并立即止付", "en": "Submit and stop payment"},
    "form.submitting": {"zh-CN": "提交中…", "en": "Submitting…"},
    "form.submit_failed": {
        "zh-CN": "提交未成功，草稿已保存，请重试",
        "en": "Not submitted; the draft is kept. Try again",
    },
    "form.total": {"zh-CN": "损失合计", "en": "Total lost"},
    "form.clock": {"zh-CN": "录入用时", "en": "Since the call"},
    "form.clock_target": {"zh-CN": "目标 30 分钟", "en": "target 30 min"},
    "form.minutes": {"zh-CN": "分钟", "en": "min"},
    "form.saved_local": {"zh-CN": "已保存在本机", "en": "Saved in this browser"},
    "form.saved_server": {"zh-CN": "已保存到服务器", "en": "Saved to the server"},
    "form.offline": {
        "zh-CN": "网络中断：已保存在本机，恢复后自动上传",
        "en": "Offline: saved in this browser; uploads when the network is back",
    },
    "form.drafts": {"zh-CN": "未提交的草稿", "en": "Open drafts"},
    "form.draft_unnamed": {"zh-CN": "（未填姓名）", "en": "(no name yet)"},
    "form.shortcuts": {"zh-CN": "快捷键", "en": "Shortcuts"},
    "form.key.enter": {
        "zh-CN": "转账/联系方式行内：新增下一行",
        "en": "in a row: add the next row",
    },
    "form.key.new_transfer": {"zh-CN": "新增转账", "en": "new transfer"},
    "form.key.new_contact": {"zh-CN": "新增联系方式", "en": "new contact"},
    "form.key.remove_row": {"zh-CN": "删除当前行", "en": "remove this row"},
    "form.key.submit": {"zh-CN": "提交", "en": "submit"},
    "form.hint.amount": {"zh-CN": "如 45.54万、455,400", "en": "e.g. 45.54万, 455,400"},
    "form.hint.time": {"zh-CN": "如 14:05、20分钟前", "en": "e.g. 14:05, 20 min ago"},
    "form.amount_unreadable": {
        "zh-CN": "看不懂这个金额（例：45.54万、455,400）",
        "en": "Not an amount (e.g. 45.54万, 455,400)",
    },
    "form.time_unreadable": {
        "zh-CN": "看不懂这个时间（例：14:05、20分钟前、2026-11-22 14:05）",
        "en": "Not a time (e.g. 14:05, 20 min ago, 2026-11-22 14:05)",
    },
    "form.fraud_type_unknown": {
        "zh-CN": "请从列表中选择诈骗类型",
        "en": "Choose a fraud type from the list",
    },
    "form.fix_above": {"zh-CN": "请更正标红的字段", "en": "Correct the fields marked in red"},
    "channel.phone_call": {"zh-CN": "电话报警", "en": "Phone call"},
    "channel.walk_in": {"zh-CN": "来所报案", "en": "Walk-in"},
    "channel.online": {"zh-CN": "网上报案", "en": "Online"},
    "channel.bank_referral": {"zh-CN": "银行移送", "en": "Bank referral"},
    "tchannel.online_banking": {"zh-CN": "网银", "en": "Online banking"},
    "tchannel.mobile_banking": {"zh-CN": "手机银行", "en": "Mobile banking"},
    "tchannel.payment_app": {"zh-CN": "支付App", "en": "Payment app"},
    "tchannel.atm": {"zh-CN": "ATM", "en": "ATM"},
    "tchannel.counter": {"zh-CN": "柜台", "en": "Counter"},
    "tchannel.pos": {"zh-CN": "POS", "en": "POS"},
    "tchannel.other": {"zh-CN": "其他", "en": "Other"},
    "contact.phone": {"zh-CN": "电话", "en": "Phone"},
    "contact.qq": {"zh-CN": "QQ", "en": "QQ"},
    "contact.wechat": {"zh-CN": "微信", "en": "WeChat"},
    "contact.url": {"zh-CN": "网址", "en": "URL"},
    "contact.app": {"zh-CN": "App", "en": "App"},
    "contact.other": {"zh-CN": "其他", "en": "Other"},
    "fraud.impersonate_authority": {
        "zh-CN": "冒充公检法（“安全账户”）",
        "en": 'Impersonating police / procuratorate / court ("safe account")',
    },
    "fraud.impersonate_customer_service": {
        "zh-CN": "冒充客服（退款、改签）",
        "en": "Impersonating customer service (refund, ticket change)",
    },
    "fraud.impersonate_boss": {
        "zh-CN": "冒充领导、老板",
        "en": "Impersonating a boss or leader",
    },
    "fraud.impersonate_acquaintance": {
        "zh-CN": "冒充熟人（“猜猜我是谁”）",
        "en": 'Impersonating an acquaintance ("guess who I am")',
    },
    "fraud.fake_tax_refund": {
        "zh-CN": "虚假退税、社保退费",
        "en": "Fake tax / social-security refund",
    },
    "fraud.impersonate_bank_staff": {"zh-CN": "冒充银行工作人员", "en": "Impersonating bank staff"},
    "fraud.fake_prize": {"zh-CN": "虚假中奖", "en": "Fake prize"},
    "fraud.insider_tips": {
        "zh-CN": "内幕消息（彩票、股票）",
        "en": "Insider tips (lottery, stocks)",
    },
    "fraud.fake_loan": {"zh-CN": "虚假贷款", "en": "Fake loan"},
    "fraud.phishing_site": {
        "zh-CN": "钓鱼网站（购物、票务）",
        "en": "Phishing shop / ticket site",
    },
    "fraud.contraband": {"zh-CN": "违禁品交易", "en": "Contraband"},
    "fraud.fake_kidnapping": {"zh-CN": "虚构绑架", "en": "Fake kidnapping"},
    "fraud.brushing_rebate": {"zh-CN": "刷单返利", "en": "Job / brushing-order rebate"},
    "fraud.romance_investment": {
        "zh-CN": "网恋交友投资（“杀猪盘”）",
        "en": 'Romance / investment ("pig butchering")',
    },
    "fraud.fake_investment_platform": {
        "zh-CN": "虚假投资理财平台",
        "en": "Fake investment platform",
    },
    "fraud.online_gambling": {"zh-CN": "网络赌博", "en": "Online gambling"},
    "fraud.other": {"zh-CN": "其他", "en": "Other"},
    # The case's live status (after submit)
    "status.title": {"zh-CN": "警情 {case_no}", "en": "Case {case_no}"},
    "status.priority": {"zh-CN": "优先级", "en": "Priority"},
    "status.status": {"zh-CN": "状态", "en": "Status"},
    "status.received": {"zh-CN": "报警时间", "en": "Call started"},
    "status.total": {"zh-CN": "损失", "en": "Lost"},
    "status.stopped": {"zh-CN": "已止付", "en": "Stopped"},
    "status.instructions": {"zh-CN": "指令", "en": "Instructions"},
    "status.kind": {"zh-CN": "指令", "en": "Instruction"},
    "status.institution": {"zh-CN": "机构", "en": "Institution"},
    "status.account": {"zh-CN": "账户", "en": "Account"},
    "status.level": {"zh-CN": "层级", "en": "Level"},
    "status.amount": {"zh-CN": "金额", "en": "Amount"},
    "status.state": {"zh-CN": "进度", "en": "State"},
    "status.outcome": {"zh-CN": "结果", "en": "Outcome"},
    "status.elapsed": {"zh-CN": "用时", "en": "Elapsed"},
    "status.live": {"zh-CN": "实时更新", "en": "Live"},
    "status.settled": {"zh-CN": "全部指令已有结果", "en": "Every instruction has an outcome"},
    "status.mismatch": {
        "zh-CN": "机构称“{field}”不符，请更正后重发",
        "en": "The institution says the {field} does not match; correct it and resend",
    },
    "status.resend": {"zh-CN": "更正并重发", "en": "Correct and resend"},
    "mfield.holder_name": {"zh-CN": "户名", "en": "holder name"},
    "mfield.amount": {"zh-CN": "金额", "en": "amount"},
    "mfield.transaction_time": {"zh-CN": "交易时间", "en": "transaction time"},
    "kind.stop_payment": {"zh-CN": "止付", "en": "Stop payment"},
    "kind.freeze": {"zh-CN": "冻结", "en": "Freeze"},
    "kind.query": {"zh-CN": "查询", "en": "Query"},
    "kind.release": {"zh-CN": "解除", "en": "Release"},
    "kind.register": {"zh-CN": "平台登记", "en": "Platform registration"},
    "state.pending": {"zh-CN": "待发送", "en": "pending"},
    "state.sent": {"zh-CN": "已送达", "en": "sent"},
    "state.done": {"zh-CN": "已完成", "en": "done"},
    "state.escalated": {"zh-CN": "超时，请电话联系", "en": "escalated: phone them"},
    "state.expired": {"zh-CN": "已失效", "en": "expired"},
    "outcome.stopped_full": {"zh-CN": "全额止付", "en": "stopped in full"},
    "outcome.stopped_partial": {"zh-CN": "部分止付", "en": "partly stopped"},
    "outcome.frozen_full": {"zh-CN": "全额冻结", "en": "frozen in full"},
    "outcome.frozen_partial": {"zh-CN": "部分冻结", "en": "partly frozen"},
    "outcome.released": {"zh-CN": "已解除", "en": "released"},
    "outcome.answered": {"zh-CN": "已答复", "en": "answered"},
    "outcome.registered": {"zh-CN": "已登记", "en": "registered"},
    "outcome.no_funds": {"zh-CN": "无余额", "en": "no funds"},
    "outcome.mismatch": {"zh-CN": "信息不符", "en": "mismatch"},
    "outcome.account_not_found": {"zh-CN": "账户不存在", "en": "account not found"},
    "outcome.rejected": {"zh-CN": "拒绝", "en": "rejected"},
    "priority.special": {"zh-CN": "特急", "en": "special"},
    "priority.high": {"zh-CN": "高", "en": "high"},
    "priority.medium": {"zh-CN": "中", "en": "medium"},
    "priority.low": {"zh-CN": "低", "en": "low"},
    "casestatus.stopping": {"zh-CN": "止付中", "en": "stopping"},
    "casestatus.stopped": {"zh-CN": "已止付", "en": "stopped"},
    "casestatus.partly_stopped": {"zh-CN": "部分止付", "en": "partly stopped"},
    "casestatus.nothing_stopped": {"zh-CN": "未能止付", "en": "nothing stopped"},
    "casestatus.freezing": {"zh-CN": "冻结中", "en": "freezing"},
    "casestatus.frozen": {"zh-CN": "已冻结", "en": "frozen"},
    "casestatus.returning": {"zh-CN": "返还中", "en": "returning"},
    "casestatus.closed": {"zh-CN": "已结案", "en": "closed"},
    # The supervisors' dashboard
    "dash.not_escalated": {
        "zh-CN": "指令 {id} 当前未处于超时升级状态",
        "en": "Instruction {id} is not escalated",
    },
    "dash.already_handled": {
        "zh-CN": "指令 {id} 的超时升级已有人标记处理",
        "en": "Someone already marked the escalation of instruction {id} handled",
    },
    "dash.instruction_not_found": {"zh-CN": "未找到指令 {id}", "en": "No instruction {id}"},
    "dash.title": {"zh-CN": "指挥看板", "en": "Supervisor dashboard"},
    "dash.id_no": {"zh-CN": "身份证号", "en": "ID number"},
    "dash.phone": {"zh-CN": "电话", "en": "Phone"},
    "dash.reveal": {"zh-CN": "显示", "en": "Reveal"},
    "dash.reveal_hint": {
        "zh-CN": "显示完整号码；每次查看均记入审计日志",
        "en": "Show the full number; every reveal is recorded in the audit trail",
    },
    "reveal.account_required": {
        "zh-CN": "请用 account_id 指明要显示哪个账户",
        "en": "Say which account to reveal with account_id",
    },
    "reveal.nothing": {
        "zh-CN": "警情 {case_no} 未记录该项",
        "en": "Case {case_no} records no such value",
    },
    "dash.scorecard": {"zh-CN": "机构响应", "en": "Institutions"},
    "dash.export_csv": {"zh-CN": "导出 CSV", "en": "Export CSV"},
    "dash.chart_title": {
        "zh-CN": "各机构办结用时（中位数，近 6 小时）",
        "en": "Completion time by institution (median, last 6 h)",
    },
    "dash.chart_empty": {
        "zh-CN": "近 6 小时暂无办结的指令",
        "en": "No instruction completed in the last 6 hours",
    },
    "dash.cases_today": {"zh-CN": "今日警情", "en": "Cases today"},
    "dash.in_flight": {"zh-CN": "办理中指令", "en": "Instructions in flight"},
    "dash.escalations_open": {"zh-CN": "超时待电话", "en": "Escalations open"},
    "dash.lost": {"zh-CN": "被骗金额", "en": "Lost"},
    "dash.stopped": {"zh-CN": "已止付", "en": "Stopped"},
    "dash.frozen": {"zh-CN": "已冻结", "en": "Frozen"},
    "dash.returned": {"zh-CN": "已返还", "en": "Returned"},
    "dash.lapsed": {"zh-CN": "止付失效", "en": "Lapsed"},
    "dash.first_stop_p50": {
        "zh-CN": "接警至首笔止付（中位数）",
        "en": "Call to first stop (median)",
    },
    "dash.queue": {"zh-CN": "未结警情", "en": "Open cases"},
    "dash.queue_empty": {"zh-CN": "暂无未结警情", "en": "No open cases"},
    "dash.priority": {"zh-CN": "等级", "en": "Priority"},
    "dash.case": {"zh-CN": "警情", "en": "Case"},
    "dash.status": {"zh-CN": "状态", "en": "Status"},
    "dash.since_call": {"zh-CN": "距接警", "en": "Since call"},
    "dash.first_stop": {"zh-CN": "首笔止付", "en": "First stop"},
    "dash.held_of_lost": {"zh-CN": "止付/冻结 占 被骗", "en": "Held of lost"},
    "dash.instructions": {"zh-CN": "指令", "en": "Instructions"},
    "dash.open_n": {"zh-CN": "{n} 条办理中", "en": "{n} open"},
    "dash.escalated_n": {"zh-CN": "{n} 条超时", "en": "{n} escalated"},
    "dash.shared_n": {"zh-CN": "{n} 个涉他案账户", "en": "{n} shared"},
    "dash.shared_hint": {
        "zh-CN": "该警情的账户也出现在其他警情中",
        "en": "Accounts of this case also appear in other cases",
    },
    "dash.more_cases": {"zh-CN": "另有 {n} 起未显示", "en": "{n} more not shown"},
    "dash.deadlines": {"zh-CN": "时限", "en": "Deadlines"},
    "dash.deadlines_empty": {"zh-CN": "暂无临近时限", "en": "Nothing due"},
    "dash.deadline.lapsing": {"zh-CN": "止付即将失效", "en": "Stop lapsing"},
    "dash.deadline.lapsed": {"zh-CN": "止付已失效", "en": "Stop lapsed"},
    "dash.deadline.freeze_renewal": {"zh-CN": "冻结需续冻", "en": "Freeze to renew"},
    "dash.deadline.return_due": {"zh-CN": "待返还", "en": "Return due"},
    "dash.deadline.return_overdue": {"zh-CN": "返还逾期", "en": "Return overdue"},
    "dash.ago": {"zh-CN": "前", "en": "ago"},
    "dash.left": {"zh-CN": "后", "en": "left"},
    "dash.document_no": {"zh-CN": "冻结文书编号", "en": "Freeze document no."},
    "dash.reason": {"zh-CN": "解除理由", "en": "Reason for release"},
    "dash.bank_reference": {"zh-CN": "银行返还流水号", "en": "Bank's payment reference"},
    "dash.note": {
        "zh-CN": "处理情况（联系了谁、结果）",
        "en": "What was done (whom you phoned, result)",
    },
    "dash.action.freeze": {"zh-CN": "冻结", "en": "Freeze"},
    "dash.action.renew": {"zh-CN": "续止付/续冻", "en": "Renew"},
    "dash.action.release": {"zh-CN": "解除", "en": "Release"},
    "dash.action.query": {"zh-CN": "查询", "en": "Query"},
    "dash.action.complete_return": {"zh-CN": "确认已返还", "en": "Mark paid"},
    "dash.action.handled": {"zh-CN": "已处理", "en": "Handled"},
    "dash.action.propose_return": {"zh-CN": "计算返还方案", "en": "Propose a return"},
    "dash.action.confirm_return": {"zh-CN": "确认返还方案", "en": "Confirm this split"},
    "dash.sent_ok": {"zh-CN": "已提交", "en": "Sent"},
    "dash.escalations": {"zh-CN": "超时升级", "en": "Escalations"},
    "dash.refused_callbacks": {"zh-CN": "拒收回调", "en": "Refused callbacks"},
    "dash.escalations_empty": {"zh-CN": "暂无超时指令", "en": "No escalations"},
    "dash.no_contact": {"zh-CN": "未登记联系电话", "en": "no contact on file"},
    "dash.escalated_at": {
        "zh-CN": "{at} 超时，已尝试 {n} 次",
        "en": "escalated {at}, {n} attempts",
    },
    "dash.handled_by": {"zh-CN": "{who} 于 {at} 处理", "en": "handled by {who} at {at}"},
    "dash.scorecard_empty": {
        "zh-CN": "近 24 小时没有指令",
        "en": "No instructions in the last 24 hours",
    },
    "dash.ack_p50_p95": {"zh-CN": "受理用时 p50/p95", "en": "Ack p50/p95"},
    "dash.done_p50_p95": {"zh-CN": "办结用时 p50/p95", "en": "Done p50/p95"},
    "dash.success": {"zh-CN": "止付成功率", "en": "Success"},
    "dash.mismatch": {"zh-CN": "信息不符率", "en": "Mismatch"},
    "dash.breaker": {"zh-CN": "通道", "en": "Channel"},
    "dash.breaker.closed": {"zh-CN": "正常", "en": "normal"},
    "dash.breaker.open": {"zh-CN": "中断", "en": "open (failing)"},
    "dash.breaker.half_open": {"zh-CN": "试探中", "en": "half-open"},
    "dash.stationed": {"zh-CN": "驻场", "en": "stationed"},
    "dash.trail": {"zh-CN": "资金流向", "en": "Money trail"},
    "dash.st.victim": {"zh-CN": "受害人", "en": "victim"},
    "dash.st.waiting": {"zh-CN": "待发送", "en": "waiting"},
    "dash.st.sent": {"zh-CN": "已送达", "en": "sent"},
    "dash.st.stopped": {"zh-CN": "全额止付", "en": "stopped"},
    "dash.st.partial": {"zh-CN": "部分止付", "en": "partly stopped"},
    "dash.st.frozen": {"zh-CN": "已冻结", "en": "frozen"},
    "dash.st.nothing": {"zh-CN": "未止付", "en": "nothing stopped"},
    "dash.st.escalated": {"zh-CN": "超时", "en": "escalated"},
    "dash.st.elsewhere": {"zh-CN": "他案已止付", "en": "held by another case"},
    "dash.st.expired": {"zh-CN": "已失效", "en": "lapsed"},
    "dash.received": {"zh-CN": "接警 {at}", "en": "call at {at}"},
    "dash.state": {"zh-CN": "状态", "en": "State"},
    "dash.held": {"zh-CN": "止付/冻结金额", "en": "Held"},
    "dash.until": {"zh-CN": "到期", "en": "Until"},
    "dash.actions": {"zh-CN": "操作", "en": "Actions"},
    "dash.victim": {"zh-CN": "受害人", "en": "victim"},
    "dash.returns": {"zh-CN": "返还", "en": "Returns"},
    "dash.timeline": {"zh-CN": "全部记录", "en": "Timeline"},
}


def t(key: str, lang: Language, **params: object) -> str:
    text = MESSAGES[key][lang]
    if not params:
        return text
    named = {k: v.in_language(lang) for k, v in params.items() if isinstance(v, Named)}
    return text.format(**(params | named))


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
