"""What a SPARQL query is, checked before it runs: its form, no update, and SERVICE only to allowed peers.

`inspect_query` reads a query in two ways that must agree:

* the engine's own parser (pyoxigraph, the store's SPARQL 1.1 grammar) decides whether it is a
  query at all, so the endpoint accepts exactly what the store runs;
* a SPARQL tokenizer (strings, long strings, comments, IRIs, prefixed names, variables, with
  ``PREFIX`` and ``BASE`` applied) finds the query form, the ``SERVICE`` targets and the ``FROM``
  graphs.  pyoxigraph gives no parse tree, and parsing a query with it *starts* evaluating it,
  SERVICE calls included, so the engine parses copies whose SERVICE targets the tokenizer replaced
  with a placeholder that no connection can be made to: the query, then the query as tokenized
  (IRIs, strings and comments neutralised).  Were a token misread (a SERVICE taken for part of a
  string), the engine would refuse the second copy, and so the query: it fails closed.  And the
  analysis workers can open no socket at all (`seal`).

`<` is the one ambiguous character of SPARQL's lexis (an IRI, or less-than).  SPARQL reads the
longest token, an IRI if one can start there; the engine reads less-than after an operand in an
expression.  Where the two differ (``FILTER(?a<'x>') SERVICE <…> {…} FILTER(?b = 'y')``: an IRI,
then a string hiding the SERVICE, or a comparison and a SERVICE) the query is refused, as SPARQL
says it should be: no server, the engine or another remote store, reads it otherwise.

`check_services` compares the targets with the allow-list after normalising both (scheme and host
case, default port, trailing slash, percent-encoding, fragment); a SERVICE on a variable or an IRI
with user information is refused.  `QueryAnalyser` runs `inspect_query` within the limits (size,
time, memory: bounded worker processes) and caches analyses by the query's SHA-256.

Over 400 lines because the SPARQL tokenizer (the lexical grammar) and the checks that rely on it
belong together; the tokenizer is private to the check.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from .errors import DeriveCertError, WorkTimeoutError


class QueryError(DeriveCertError):
    """The SPARQL text is not a query this endpoint runs."""

    code = "invalid-query"
    status = 400


class QueryTooLarge(QueryError):
    code = "query-too-large"
    status = 413


class UpdateRefused(DeriveCertError):
    code = "update-refused"
    status = 403


class ServiceNotAllowed(DeriveCertError):
    """A SERVICE the allow-list does not hold: refused before the query runs (no connection)."""

    code = "service-not-allowed"
    status = 400


@dataclass(frozen=True)
class QueryInfo:
    form: str                      # select | ask | graph  (graph = CONSTRUCT or DESCRIBE)
    keyword: str                   # SELECT | ASK | CONSTRUCT | DESCRIBE
    services: tuple[str, ...]      # SERVICE targets: absolute IRIs, or "?var" for a variable
    default_graphs: tuple[str, ...] = ()   # FROM
    named_graphs: tuple[str, ...] = ()     # FROM NAMED

    @property
    def size(self) -> int:
        """Bytes it holds, roughly (what a `QueryCache` counts)."""
        return 200 + sum(len(t) for t in (*self.services, *self.default_graphs, *self.named_graphs))


_FORMS = {"SELECT": "select", "ASK": "ask", "CONSTRUCT": "graph", "DESCRIBE": "graph"}
_UPDATES = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
#: what SERVICE targets become in the copy the engine parses: no scheme it could connect with
PLACEHOLDER = "<urn:derivecert:service-checked>"

# -- the tokenizer: the terminals of the SPARQL 1.1 grammar (§19.8), plus the engine's RDF 1.2 ones --

_BASE = ("A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
         "\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF")
_U = _BASE + "_"
_CH = _U + r"\-0-9\u00B7\u0300-\u036F\u203F-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_PREFIX = f"[{_BASE}](?:[{_CH}.]*[{_CH}])?"
_LOCAL = f"(?:[{_U}:0-9]|{_PLX})(?:(?:[{_CH}.:]|{_PLX})*(?:[{_CH}:]|{_PLX}))?"
_ECHAR = r"\\(?:[tbnrf\\\"']|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"
_UCHAR = r"\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"

_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<comment>#[^\n\r]*)"
    rf"|(?P<string>'''(?:(?:'|'')?(?:[^'\\]|{_ECHAR}))*'''"
    rf'|"""(?:(?:"|"")?(?:[^"\\]|{_ECHAR}))*"""'
    rf"|'(?:[^'\\\n\r]|{_ECHAR})*'"
    rf'|"(?:[^"\\\n\r]|{_ECHAR})*")'
    rf"|(?P<var>[?$][{_U}0-9][{_U}0-9\u00B7\u0300-\u036F\u203F-\u2040]*)"
    rf"|(?P<bnode>_:[{_U}0-9](?:[{_CH}.]*[{_CH}])?)"
    rf"|(?P<pname>(?:{_PREFIX})?:(?:{_LOCAL})?)"
    r"|(?P<langtag>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)"
    r"|(?P<number>[0-9]+\.[0-9]*[eE][+-]?[0-9]+|[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>\^\^|<=|>=|!=|&&|\|\||>>|[{}()\[\];,.*/|^!=<>+\-?~@])",
    re.S,
)
_IRI = re.compile(rf"<(?:[^<>\"{{}}|^`\\\x00-\x20]|{_UCHAR})*>")
_OPERAND_END = {"var", "string", "number", "iri", "pname", "bnode", "langtag"}
_OPENS_EXPRESSION = {"FILTER", "BIND", "HAVING", "BY", "ASC", "DESC"}
_MODIFIERS = {"SELECT", "GROUP", "ORDER", "HAVING"}  # clauses whose parentheses hold expressions
_PAIRS = {"(": ")", "{": "}", "[": "]"}


@dataclass(frozen=True)
class Token:
    kind: str   # string | iri | var | bnode | pname | langtag | number | word | punct | comment
    text: str
    start: int

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def tokenize(text: str, comments: list[Token] | None = None) -> list[Token]:
    """The significant tokens of a SPARQL text (no whitespace; comments go to `comments`);
    `QueryError` if a character starts no token (e.g. an unterminated string), or where SPARQL
    and the engine would read `<` differently."""
    tokens: list[Token] = []
    # "{" braces, "E" expression parentheses, "(" other parentheses (collections, paths, VALUES),
    # "[" brackets; each with whether a projection or GROUP BY/ORDER BY/HAVING clause was open
    stack: list[tuple[str, bool]] = []
    modifiers = False  # in a SELECT projection or a GROUP BY / ORDER BY / HAVING clause
    pos, end = 0, len(text)
    while pos < end:
        prev = tokens[-1] if tokens else None
        if text[pos] == "<":
            in_expression = bool(stack) and stack[-1][0] == "E"
            after_operand = prev is not None and (prev.kind in _OPERAND_END or prev.text in (")", "]")
                                                  or prev.word in ("TRUE", "FALSE"))
            m = _IRI.match(text, pos)
            if m and in_expression and after_operand:
                # SPARQL reads the longest token, an IRI, where the engine reads less-than: refused,
                # so that no server reads the rest of the query otherwise than this check did
                raise QueryError(
                    f"the query does not parse: {m.group()} at {_position(text, pos)} is an IRI (SPARQL reads "
                    "the longest token), and an IRI cannot follow an operand",
                    hint="write a space after < where it means less-than")
            tok = Token("iri", m.group(), pos) if m else Token("punct", "<=" if text.startswith("<=", pos) else "<", pos)
            tokens.append(tok)
            pos += len(tok.text)
            continue
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise QueryError(f"the query does not parse: unexpected {text[pos]!r} at {_position(text, pos)}",
                             hint="check the SPARQL 1.1 syntax (quotes, IRIs in <…>)")
        kind = m.lastgroup or "punct"
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "comment":
            if comments is not None:
                comments.append(Token(kind, m.group(), m.start()))
            continue
        tok = Token(kind, m.group(), m.start())
        tokens.append(tok)
        if tok.word in _MODIFIERS:
            modifiers = True
        elif tok.word in ("WHERE", "LIMIT", "OFFSET", "VALUES", "FROM"):
            modifiers = False
        if tok.text == "(":
            before = tokens[-3] if len(tokens) > 2 else None
            expression = (not stack or stack[-1][0] == "E" or modifiers
                          or (prev is not None and prev.word in _OPENS_EXPRESSION)
                          or (before is not None and before.word == "FILTER"))
            stack.append(("E" if expression else "(", modifiers))
        elif tok.text in ("{", "["):
            stack.append((tok.text, modifiers))
            if tok.text == "{":
                modifiers = False  # a group pattern, or EXISTS { … } inside an expression
        elif tok.text in (")", "}", "]") and stack:
            _, opened_in_modifiers = stack.pop()
            if tok.text == "}":
                modifiers = opened_in_modifiers  # e.g. after `SELECT (EXISTS { … } AS ?x)` the projection goes on
    return tokens


def _balanced(tokens: list[Token]) -> bool:
    stack: list[str] = []
    for t in tokens:
        if t.kind != "punct":
            continue
        if t.text in _PAIRS:
            stack.append(_PAIRS[t.text])
        elif t.text in _PAIRS.values():
            if not stack or stack.pop() != t.text:
                return False
    return not stack


# -- IRIs ----------------------------------------------------------------------------------------


def _unescape(s: str) -> str:
    def one(m: re.Match) -> str:
        code = int(m.group(1) or m.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise QueryError(f"the escape {m.group()} names no character", hint="escape Unicode characters only")
        return chr(code)

    return re.sub(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})", one, s)


class _Names:
    """PREFIX and BASE as declared so far: prefixed names and relative IRIs to absolute IRIs."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.base: str | None = None
        self.prefixes: dict[str, str] = {}

    def iri(self, tok: Token) -> str:
        if tok.kind == "iri":
            iri = _unescape(tok.text[1:-1])
            if not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", iri):
                if self.base is None:
                    raise QueryError(f"the relative IRI <{iri}> at {_position(self.text, tok.start)} "
                                     "has no BASE to resolve against",
                                     hint="write an absolute IRI, or declare BASE <…> before the query")
                iri = urljoin(self.base, iri)
            return iri
        prefix, _, local = tok.text.partition(":")
        if prefix not in self.prefixes:
            raise QueryError(f"the prefix {prefix}: is not declared", hint=f"add PREFIX {prefix}: <…>")
        return self.prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)


_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = re.compile(r"%([0-9A-Fa-f]{2})")


def _percent(part: str) -> str:
    """One spelling of a path or query: non-ASCII characters percent-encoded, escapes of
    unreserved characters decoded, the others in upper case."""
    part = quote(part, safe="".join(chr(c) for c in range(0x21, 0x7F)))

    def one(m: re.Match) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch.isascii() and (ch.isalnum() or ch in "-._~") else "%" + m.group(1).upper()

    return _UNRESERVED.sub(one, part)


def normalise_endpoint(iri: str) -> str:
    """The form in which SERVICE targets and allow-listed endpoints are compared.

    Raises `ServiceNotAllowed` for user information (``http://user@host/``): what an endpoint
    is must not depend on credentials written into a query."""
    parts = urlsplit(iri)
    scheme = parts.scheme.lower()
    if "@" in parts.netloc:
        shown = iri.replace(parts.netloc, "…@" + parts.netloc.rpartition("@")[2], 1)  # not the password
        raise ServiceNotAllowed(
            f"SERVICE <{shown}>: IRIs with user information are refused",
            hint="name the endpoint without user@; credentials never go in a query",
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    path = _percent(parts.path).rstrip("/")
    query = f"?{_percent(parts.query)}" if parts.query else ""
    return f"{scheme}://{netloc}{path}{query}"


# -- the analysis ------------------------------------------------------------------------------


def _engine_parse(text: str) -> None:
    """Parse with the store's own SPARQL parser; `QueryError` on a syntax error.

    pyoxigraph parses and starts evaluating in one call: on an empty in-memory store, with the
    SERVICE targets already replaced by `PLACEHOLDER` (which raises before any connection), the
    evaluation costs next to nothing and its errors (an unknown function, the placeholder) are
    not syntax errors."""
    import pyoxigraph as ox

    try:
        ox.Store().query(text)
    except SyntaxError as exc:
        message = str(exc).splitlines()[0] if str(exc) else "syntax error"
        if len(message) > 200:  # the engine lists every token it expected
            message = message[:200] + "…"
        raise QueryError(f"the query does not parse: {message}",
                         hint="check the SPARQL 1.1 syntax; this endpoint runs SELECT, ASK, CONSTRUCT and DESCRIBE"
                         ) from None
    except Exception:  # noqa: BLE001 - parsed: what fails after the parse is the run's business
        return


def _replaced(text: str, replacements: list[tuple[Token, str]]) -> str:
    out, last = [], 0
    for tok, new in sorted(replacements, key=lambda r: r[0].start):
        out += [text[last:tok.start], new]
        last = tok.start + len(tok.text)
    return "".join(out) + text[last:]


def _token_view(text: str, tokens: list[Token], comments: list[Token], services: list[Token]) -> str:
    """The query as the tokenizer read it, for the engine to parse: every IRI `<x:>`, every string
    "s" (but VERSION's), every comment a space, SERVICE targets `PLACEHOLDER`.  If the engine read
    a `<`, a quote or a `#` otherwise than the tokenizer, here it meets an IRI, a string or no
    comment where it read something else, and refuses: the check then refuses the query."""
    targets = {t.start for t in services}
    replacements = [(c, " ") for c in comments]
    for i, tok in enumerate(tokens):
        if tok.start in targets:
            replacements.append((tok, PLACEHOLDER))
        elif tok.kind == "iri":
            replacements.append((tok, "<x:>"))
        elif tok.kind == "string" and not (i and tokens[i - 1].word == "VERSION"):
            replacements.append((tok, '"s"'))
    return _replaced(text, replacements)


def inspect_query(text: str) -> QueryInfo:
    """Form, SERVICE targets and FROM graphs of a query; raises `UpdateRefused` or `QueryError`."""
    comments: list[Token] = []
    tokens = tokenize(text, comments)
    names = _Names(text)
    keyword = ""
    services: list[str] = []
    placeholders: list[Token] = []
    default_graphs: list[str] = []
    named_graphs: list[str] = []
    depth = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        word = tok.word
        if tok.text == "{":
            depth += 1
        elif tok.text == "}":
            depth -= 1
        elif not keyword and word in _UPDATES:
            raise UpdateRefused(
                "this endpoint is read-only: SPARQL updates are refused",
                hint="institutions file descriptions with PUT /v1/institutions/{institution}/datasets",
            )
        elif not keyword and word in _FORMS:
            keyword = word
        elif word == "BASE" and nxt is not None and nxt.kind == "iri":
            names.base = names.iri(nxt)
            i += 1
        elif word == "PREFIX" and nxt is not None and nxt.kind == "pname" and i + 2 < len(tokens):
            if tokens[i + 2].kind == "iri":
                names.prefixes[nxt.text[:-1]] = names.iri(tokens[i + 2])
                i += 2
        elif word == "FROM" and depth == 0 and nxt is not None:
            target = tokens[i + 2] if nxt.word == "NAMED" and i + 2 < len(tokens) else nxt
            if target.kind in ("iri", "pname"):
                (named_graphs if nxt.word == "NAMED" else default_graphs).append(names.iri(target))
        elif word == "SERVICE":
            j = i + 2 if nxt is not None and nxt.word == "SILENT" else i + 1
            endpoint = tokens[j] if j < len(tokens) else None
            if endpoint is None or endpoint.kind not in ("iri", "pname", "var"):
                raise QueryError("the SERVICE clauses of the query could not be checked",
                                 hint="write SERVICE [SILENT] <endpoint IRI> { … }")
            services.append("?" + endpoint.text[1:] if endpoint.kind == "var" else names.iri(endpoint))
            placeholders.append(endpoint)
            i = j
        i += 1
    _engine_parse(_replaced(text, [(t, PLACEHOLDER) for t in placeholders]))
    try:
        _engine_parse(_token_view(text, tokens, comments, placeholders))
    except QueryError:
        raise QueryError("the query could not be checked: read token by token, it is not the query the engine reads",
                         hint="simplify the query's strings, IRIs and comments") from None
    if not _balanced(tokens):
        raise QueryError("the query could not be checked: its brackets do not balance as read",
                         hint="simplify the query's strings and comments")
    if not keyword:
        raise QueryError("no query form found", hint="start the query with SELECT, ASK, CONSTRUCT or DESCRIBE")
    return QueryInfo(form=_FORMS[keyword], keyword=keyword, services=tuple(services),
                     default_graphs=tuple(default_graphs), named_graphs=tuple(named_graphs))


_sealed = False


def seal() -> None:
    """Make this process unable to open any file or socket (RLIMIT_NOFILE = 0; the descriptors it
    holds, its pipe to the parent, still work), pyoxigraph loaded first.  The analysis workers
    seal themselves: a SERVICE the tokenizer missed could not reach a host from the engine's parse."""
    global _sealed
    if not _sealed:
        import resource

        import pyoxigraph as ox

        ox.Store().query("ASK {}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (0, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        _sealed = True


def inspect_sealed(text: str) -> QueryInfo:
    """`inspect_query` in a sealed process: what `QueryAnalyser`'s workers run (never call it in
    the API's own process)."""
    seal()
    return inspect_query(text)


class QueryCache:
    """Analyses of recent queries, least recently used dropped first, bounded by the bytes it
    holds: keys are SHA-256 digests, never the query texts (a 2 MB query costs 32 bytes here)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[bytes, QueryInfo] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()

    def get(self, text: str) -> QueryInfo | None:
        key = self.key(text)
        with self._lock:
            info = self._items.get(key)
            if info is not None:
                self._items.move_to_end(key)
            return info

    def put(self, text: str, info: QueryInfo) -> None:
        key = self.key(text)
        cost = len(key) + info.size
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= len(key) + old.size
            self._items[key] = info
            self.bytes += cost
            while self.bytes > self.max_bytes:
                k, v = self._items.popitem(last=False)
                self.bytes -= len(k) + v.size

    def __len__(self) -> int:
        return len(self._items)


class QueryAnalyser:
    """`inspect_query` within the limits: queries over `limits.max_query_bytes` refused unread,
    the others parsed in bounded, sealed worker processes (`limits.sparql_parse_timeout_s`,
    `limits.sparql_memory_mb`; no file or socket) that serve query after query, analyses cached
    by bytes."""

    def __init__(self, limits):
        from . import sandbox

        self.limits = limits
        self.cache = QueryCache(limits.query_cache_bytes)
        self.pool = (sandbox.BoundedPool(inspect_sealed, limits.query_analysis_bounds(), size=limits.sparql_concurrency)
                     if sandbox.available() else None)

    def analyse(self, text: str) -> QueryInfo:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > self.limits.max_query_bytes:
            raise QueryTooLarge(
                f"the query is {size:,} bytes, over the limit of {self.limits.max_query_bytes:,} "
                "(limit limits.max_query_bytes)",
                hint="shorten the query (e.g. fewer VALUES rows), or raise the limit in the settings",
                limit="max_query_bytes",
            )
        info = self.cache.get(text)
        if info is not None:
            return info
        if self.pool is None:
            info = inspect_query(text)
        else:
            try:
                info = self.pool.run(text)
            except WorkTimeoutError:
                raise QueryError(
                    f"the query could not be analysed within {self.limits.sparql_parse_timeout_s:g} s "
                    "(limit limits.sparql_parse_timeout_s)",
                    hint="shorten or simplify the query (the engine's parse already computes what its own "
                         "VALUES and BIND data imply, e.g. an ORDER BY over their cross product)",
                    limit="sparql_parse_timeout_s",
                ) from None
        self.cache.put(text, info)
        return info

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def check_services(info: QueryInfo, allow: set[str]) -> None:
    """Refuse the query (before it runs, so before any connection) if a SERVICE names an
    endpoint the allow-list does not hold, or an endpoint given by a variable."""
    allowed: dict[str, str] = {}
    for a in allow:
        try:
            allowed[normalise_endpoint(a)] = a
        except ServiceNotAllowed:
            continue  # an allow-list entry with user information allows nothing
    setting = "add it to the settings' `service_allow` (or configure it as a peer under `peers`)"
    for target in info.services:
        if target.startswith("?"):
            raise ServiceNotAllowed(
                f"SERVICE {target}: an endpoint given by a variable cannot be checked against the allow-list",
                hint="name the peer endpoint with its IRI",
            )
        if normalise_endpoint(target) not in allowed:
            raise ServiceNotAllowed(
                f"SERVICE <{target}> is not an allow-listed endpoint; to allow it, {setting}",
                hint="allowed: " + (", ".join(sorted(allowed.values()))
                                    or "none configured (settings: peers, service_allow)"),
            )
