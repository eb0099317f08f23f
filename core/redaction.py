"""Redaction of secrets before anything is stored in the event spine, audited, published or logged.

Secrets are recognised by shape (a vendor prefix, a structure such as a JWT, a PEM block or `user:pass@` in a URL)
or by context (the value of `DB_PASSWORD=…`, `"api_key": "…"`, `--token …`, `Authorization: …`). Only the secret
part is replaced: the non-secret text that says which kind of key it was is kept in front of the marker, so the
operator can still tell them apart:

    sk-ant-api03-Xy…AA            ->  sk-ant-api03-[redacted]
    ghp_16C7e42F292c6912E7710c838  ->  ghp_[redacted]
    DB_PASSWORD=hunter2           ->  DB_PASSWORD=[redacted]
    https://deploy:s3cret@git.io  ->  https://deploy:[redacted]@git.io
    -----BEGIN RSA PRIVATE KEY-----\\n…\\n-----END RSA PRIVATE KEY-----
                                  ->  -----BEGIN RSA PRIVATE KEY-----[redacted]-----END RSA PRIVATE KEY-----

Redacting twice changes nothing more. Ordinary text (paths, git hashes, uuids, short base64, prose, code that
merely names a token variable) is left alone: there is no generic "high entropy" rule.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REDACTED = "[redacted]"
_MARKER_START = REDACTED[:-1]


@dataclass(frozen=True)
class Shape:
    """One kind of secret: `pattern` has a group `secret` (or `qsecret`, for a quoted value) whose text is
    replaced by REDACTED; whatever else the pattern matched is kept. `check`, when given, can veto a match."""

    name: str
    pattern: re.Pattern[str]
    check: Callable[[re.Match[str]], bool] | None = None


def _secret_span(match: re.Match[str]) -> tuple[int, int] | None:
    for group in ("secret", "qsecret"):
        if group in match.re.groupindex and match.group(group) is not None:
            return match.span(group)
    return None


# -- deciding whether a value next to a sensitive name is a secret ---------------------------------------------------
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# A name is sensitive when its last word ends with one of these (DB_PASSWORD, PGPASSWORD, apiToken, client_secret),
# never when one is merely inside it (max_tokens, token_count, secret_santa_list).
_SENSITIVE_LAST = ("token", "secret", "password", "passwd", "passphrase", "credential", "credentials", "apikey")
_SENSITIVE_EXACT_LAST = frozenset({"pass", "pw", "pat"})
_SENSITIVE_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("private", "key"),
        ("account", "key"),
        ("signing", "key"),
        ("encryption", "key"),
        ("master", "key"),
        ("auth", "key"),
        ("shared", "key"),
        ("license", "key"),
        ("key", "base"),  # Rails' SECRET_KEY_BASE
    }
)
_TYPE_NAMES = frozenset(
    {"str", "string", "int", "bytes", "bool", "none", "null", "nil", "true", "false", "optional", "any", "object"}
)
_REFERENCE = re.compile(r"^(?:\$[{(A-Za-z_]|%[A-Za-z_][A-Za-z0-9_]*%$|\{\{|<[^<>]*>$)")
_DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def sensitive_name(name: str) -> bool:
    """Whether `name` (an env var, a JSON key, a header, a flag) names a secret."""
    words = [w.lower() for w in _WORDS.findall(name)]
    if not words:
        return False
    last = words[-1]
    if last.endswith(_SENSITIVE_LAST) or last in _SENSITIVE_EXACT_LAST:
        return True
    return len(words) >= 2 and (words[-2], last) in _SENSITIVE_PAIRS


def _placeholder(value: str) -> bool:
    """An empty value, a reference to one ($TOKEN, ${TOKEN}, <your token>, {{ token }}) or a mask (****)."""
    return not value or bool(_REFERENCE.match(value)) or set(value) <= set("*•xX.") or REDACTED in value


def _secret_like(value: str, key: str) -> bool:
    """An unquoted value after `name: ` or `name = ` is a secret unless it reads as code or prose: a type
    (`token: str`), the variable of the same name (`password=password`), a dotted name (`settings.api_key`), a
    call or an index, or one ordinary word (`Token: expired`)."""
    value = value.rstrip(".,!?:;")
    if _placeholder(value) or value.lower() in _TYPE_NAMES or (value.isdigit() and len(value) < 8):
        return False
    if any(ch in value for ch in "()[]{}") or _DOTTED_NAME.match(value):
        return False
    words = [w.lower() for w in _WORDS.findall(key)]
    if value.lower() in words or value.lower() == key.lower():
        return False
    if any(ch.isdigit() for ch in value) or not value.replace("_", "").isalpha():
        return True
    return len(value) >= 16


def _assignment_check(match: re.Match[str]) -> bool:
    key = match.group("key")
    if not sensitive_name(key):
        return False
    if match.group("qsecret") is not None:
        return not _placeholder(match.group("qsecret"))
    value = match.group("secret")
    # NAME=value with an environment-style name and no spaces is configuration, whatever the value looks like.
    if _ENV_NAME.match(key) and match.group("sep") == "=" and not _placeholder(value):
        return True
    return _secret_like(value, key)


def _flag_check(match: re.Match[str]) -> bool:
    if not sensitive_name(match.group("key")):
        return False
    if match.group("qsecret") is not None:
        return not _placeholder(match.group("qsecret"))
    return not _placeholder(match.group("secret"))


def _authorization_check(match: re.Match[str]) -> bool:
    value = match.group("qsecret") if match.group("qsecret") is not None else match.group("secret")
    if _placeholder(value):
        return False
    return bool(match.group("scheme")) or _secret_like(value, "authorization")


def _mixed(match: re.Match[str]) -> bool:
    """Random keys have a digit or a capital somewhere; a kebab-case or snake_case word after a prefix does not."""
    secret = match.group("secret")
    return any(ch.isdigit() or ch.isupper() for ch in secret)


def _not_redacted(match: re.Match[str]) -> bool:
    span = _secret_span(match)
    return span is not None and REDACTED not in match.string[span[0] : span[1]]


# -- the shapes ------------------------------------------------------------------------------------------------------
_END = r"(?![A-Za-z0-9_-])"  # where a token of [A-Za-z0-9_-] ends (\b would stop at a trailing '-')
_START = r"(?<![A-Za-z0-9_])"  # a prefix starts a token (rb-ghp_… is a key inside a session name)
# Shapes that need more after a long run (a JWT's dots) start only where no token character precedes: starting
# after every '-' of a long run, each failing attempt would scan the rest of it (quadratic time on hostile text).
_STRICT_START = r"(?<![A-Za-z0-9_.-])"
_QUOTED_OR_BARE = r"""(?:(?P<q>["'])(?P<qsecret>[^"'\r\n]*)(?P=q)|(?P<secret>[^\s"',;&)\]}<>=][^\s"',;&)\]}<>]*))"""


def _shape(name: str, pattern: str, check: Callable[[re.Match[str]], bool] | None = None, flags: int = 0) -> Shape:
    return Shape(name, re.compile(pattern, flags), check)


SHAPES: tuple[Shape, ...] = (
    # Structures first: a PEM block or a URL may contain something that looks like a key of its own.
    _shape(
        "private_key",
        r"-----BEGIN (?P<label>[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----(?P<secret>[\s\S]*?)"
        r"(?:-----END (?P=label)-----|\Z)",
    ),
    _shape(
        "slack_webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9/_-]{20,})"
    ),
    _shape(
        "discord_webhook",
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/(?P<secret>[A-Za-z0-9_-]{30,})",
    ),
    # Vendor prefixes (the prefix says which key it was and is kept).
    _shape("anthropic", _START + r"sk-ant-(?:[a-z]{2,8}\d{2}-)?(?P<secret>[A-Za-z0-9_-]{16,})"),
    _shape("openai", _START + r"sk-(?:proj|svcacct|admin|None)-(?P<secret>[A-Za-z0-9_-]{16,})"),
    _shape("openai_legacy", _START + r"sk-(?P<secret>[A-Za-z0-9]{20,})" + _END, _mixed),
    _shape("github_pat", _START + r"github_pat_(?P<secret>[A-Za-z0-9_]{22,})"),
    _shape("github", _START + r"gh[pousr]_(?P<secret>[A-Za-z0-9]{20,})"),
    _shape("gitlab", _START + r"gl(?:pat|dt|rt|ptt|ft|soat|cbt|imt|agent)-(?P<secret>[A-Za-z0-9_-]{20,})"),
    _shape("slack", _START + r"xox[abeoprs]-(?P<secret>[A-Za-z0-9-]{10,})"),
    _shape("slack_app", _START + r"xapp-(?P<secret>\d-[A-Za-z0-9-]{10,})"),
    _shape("aws_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA)(?P<secret>[A-Z0-9]{16})\b"),
    _shape("google_api_key", _START + r"AIza(?P<secret>[0-9A-Za-z_-]{35})" + _END),
    _shape("google_oauth", _START + r"(?:ya29\.|GOCSPX-)(?P<secret>[0-9A-Za-z_-]{20,})"),
    _shape("stripe", _START + r"(?:sk|rk)_(?:live|test)_(?P<secret>[A-Za-z0-9]{16,})"),
    _shape("stripe_webhook", _START + r"whsec_(?P<secret>[A-Za-z0-9]{24,})"),
    _shape("npm", _START + r"npm_(?P<secret>[A-Za-z0-9]{36})" + _END),
    _shape("pypi", _START + r"pypi-(?P<secret>[A-Za-z0-9_-]{50,})"),
    _shape("huggingface", _START + r"(?:hf_|api_org_)(?P<secret>[A-Za-z0-9]{30,})" + _END, _mixed),
    _shape("digitalocean", _START + r"do[opr]_v1_(?P<secret>[a-f0-9]{64})"),
    _shape("sendgrid", _STRICT_START + r"SG\.(?P<secret>[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,})"),
    _shape("mailgun", _START + r"key-(?P<secret>[0-9a-f]{32})(?![0-9a-f])"),
    _shape("twilio_api_key", r"\bSK(?P<secret>[0-9a-fA-F]{32})\b"),
    _shape("heroku", _START + r"HRKU-(?P<secret>[A-Za-z0-9_-]{20,})"),
    _shape("jwt", _STRICT_START + r"eyJ(?P<secret>[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"),
    _shape("azure_key", r"\b(?:AccountKey|SharedAccessKey|SharedAccessSignature)=(?P<secret>[^;\"'\s]{8,})"),
    _shape("azure_sas", r"[?&]sig=(?P<secret>[A-Za-z0-9%+/=_-]{16,})"),
    # Context: credentials in URLs and headers, then values next to a sensitive name.
    _shape(
        "url_credentials",
        r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@\"'<>]*:(?P<secret>[^\s/@\"'<>]+)@",
        _not_redacted,
    ),
    _shape(
        "authorization",
        r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
        r"(?P<scheme>(?:bearer|basic|token|digest|negotiate|ntlm|apikey|sso-key)\s+)?"
        r"(?:(?P<q>[\"'])(?P<qsecret>[^\"'\r\n]+)(?P=q)|(?P<secret>[^\s\"',;]+))",
        _authorization_check,
    ),
    _shape("bearer", r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=-]{16,})", _not_redacted),
    _shape("basic_auth_flag", r"(?<!\S)(?:-u|--user)[=\s]+[\"']?[^\s:\"']+:(?P<secret>[^\s\"'@]+)", _not_redacted),
    _shape(
        "flag",
        r"(?<![^\s\"'(\[,])--?(?P<key>[A-Za-z][A-Za-z0-9_-]*)(?:=|\s+)"
        r"(?:(?P<q>[\"'])(?P<qsecret>[^\"'\r\n]*)(?P=q)|(?P<secret>[^\s\"')\]}-][^\s\"')\]}]*))",
        _flag_check,
    ),
    _shape(
        "assignment",
        r"(?<![A-Za-z0-9_.-])(?P<kq>[\"']?)(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)(?P=kq)"
        r"[ \t]*(?P<sep>:=|=>|[:=])[ \t]*" + _QUOTED_OR_BARE,
        _assignment_check,
    ),
)
# A known prefix cut off at the very end of a text (a caller truncated it): whatever of the key is left goes too.
_TRUNCATED = _shape(
    "truncated",
    _STRICT_START
    + r"(?:sk-ant-(?:[a-z]{2,8}\d{2}-)?|sk-proj-|github_pat_|gh[pousr]_|glpat-|xox[abeoprs]-|AKIA|ASIA|AIza|"
    r"npm_|pypi-|hf_|dop_v1_|SG\.|[sr]k_live_|HRKU-|eyJ)(?P<secret>[A-Za-z0-9_.-]{4,})(?=\.\.\.|…|\Z)",
    _mixed,
)
SHAPE_NAMES = tuple(s.name for s in SHAPES)


def _apply(shape: Shape, text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        span = _secret_span(match)
        # Nothing to hide, or the value is (or runs into) a marker already: idempotent, and a prefix kept by an
        # earlier shape (OPENAI_API_KEY=sk-proj-[redacted]) is not redacted again.
        if span is None or span[0] == span[1] or _MARKER_START in text[span[0] : span[1]]:
            return match.group(0)
        if text.startswith(REDACTED, span[1]):
            return match.group(0)
        if shape.check is not None and not shape.check(match):
            return match.group(0)
        start, end = match.span()
        return text[start : span[0]] + REDACTED + text[span[1] : end]

    return shape.pattern.sub(replace, text)


def redact_text(text: str) -> str:
    """`text` with every recognised secret replaced by REDACTED (the kind's prefix kept); idempotent."""
    if not text:
        return text
    for shape in SHAPES:
        text = _apply(shape, text)
    return _apply(_TRUNCATED, text)


def redact(value: Any) -> Any:
    """Every string inside a JSON-like value redacted, dict keys included (keys that collide once redacted are
    numbered rather than merged). Other values are returned as they are."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            base = new_key = redact_text(key) if isinstance(key, str) else key
            n = 1
            while new_key in out:  # two keys that differed only in their secrets: keep both
                n += 1
                new_key = f"{base}#{n}"
            out[new_key] = redact(item)
        return out
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """A handler filter that redacts the whole rendered message (format and args), the exception text and the
    stack of every record before it is written. Install it on the handler (a logger's filter would miss records
    propagated from child loggers): `handler.addFilter(RedactingFilter())`."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose args do not fit its format: keep what can be shown
            message = f"{record.msg} {record.args!r}"
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True
