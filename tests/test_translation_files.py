"""Every string of every translation file shows on screen as written, in every language.

Home Assistant's frontend formats each string with intl-messageformat (ICU MessageFormat) and
the placeholders the backend sent; the backend formats English exception messages with
``str.format``. So each string here must

* parse as ICU MessageFormat exactly as intl-messageformat parses it (``{start, end, kwh}``
  in a text is an argument of type ``end``: "Translation error: INVALID_ARGUMENT_TYPE");
* name only placeholders the code passes with it: a flow step's ``description_placeholders``,
  an exception's or a repair issue's ``translation_placeholders`` (read from the code with
  ``ast``), none anywhere else;
* pass hassfest's checks of a translation value.

Other languages have exactly English's keys and the same placeholders per string, and every
option of a select selector with a ``translation_key`` (services.yaml and the flows) has a label.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
import json
from pathlib import Path
import re
import string
from typing import Any

import pytest
import yaml

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "flatpeak"
TRANSLATIONS = INTEGRATION / "translations"
LANGUAGES = sorted(path.stem for path in TRANSLATIONS.glob("*.json"))
OTHER_LANGUAGES = [language for language in LANGUAGES if language != "en"]

type Key = tuple[str, ...]


# -- ICU MessageFormat, as intl-messageformat parses it -------------------------------------
# A port of @formatjs/icu-messageformat-parser (parser.ts) with the frontend's options (tags
# parsed, ``other`` required), stricter in two places: a tag is an error (Home Assistant passes
# no tag functions, so formatting one fails) and so is a ``}`` outside any argument
# (intl-messageformat prints it, Python's ``str.format`` and hassfest refuse it).


class MessageError(ValueError):
    """A string intl-messageformat cannot format; ``kind`` is its ErrorKind name."""

    def __init__(self, kind: str, offset: int) -> None:
        super().__init__(f"{kind} at offset {offset}")
        self.kind = kind


# Pattern_White_Space (what the parser skips) and White_Space (what ends an identifier).
_SKIPPED_SPACE = {*range(0x09, 0x0E), 0x20, 0x85, 0x200E, 0x200F, 0x2028, 0x2029}
_WHITE_SPACE = {
    *range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
    0x202F, 0x205F, 0x3000,
}  # fmt: skip
_PATTERN_SYNTAX = (
    (0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x5E), (0x60, 0x60), (0x7B, 0x7E), (0xA1, 0xA7),
    (0xA9, 0xA9), (0xAB, 0xAC), (0xAE, 0xAE), (0xB0, 0xB1), (0xB6, 0xB6), (0xBB, 0xBB),
    (0xBF, 0xBF), (0xD7, 0xD7), (0xF7, 0xF7), (0x2010, 0x2027), (0x2030, 0x203E),
    (0x2041, 0x2053), (0x2055, 0x205E), (0x2190, 0x245F), (0x2500, 0x2775), (0x2794, 0x2BFF),
    (0x2E00, 0x2E7F), (0x3001, 0x3003), (0x3008, 0x3020), (0x3030, 0x3030), (0xFD3E, 0xFD3F),
    (0xFE45, 0xFE46),
)  # fmt: skip
_PLURALS = ("plural", "selectordinal")


def _identifier_char(char: str) -> bool:
    code = ord(char)
    return code not in _WHITE_SPACE and not any(lo <= code <= hi for lo, hi in _PATTERN_SYNTAX)


def _ascii_letter(char: str | None) -> bool:
    return char is not None and char.isascii() and char.isalpha()


@dataclass
class Message:
    """A parsed string: its argument names, and its text with quoting resolved and each
    simple argument written back as ``{name}``."""

    arguments: set[str] = field(default_factory=set)
    text: str = ""


class _Parser:
    def __init__(self, message: str) -> None:
        self.message = message
        self.offset = 0
        self.result = Message()

    def parse(self) -> Message:
        self.result.text = self._message(0, "")
        return self.result

    # -- cursor
    def _eof(self) -> bool:
        return self.offset >= len(self.message)

    def _char(self) -> str:
        return self.message[self.offset]

    def _peek(self) -> str | None:
        return self.message[self.offset + 1] if self.offset + 1 < len(self.message) else None

    def _bump_if(self, prefix: str) -> bool:
        if self.message.startswith(prefix, self.offset):
            self.offset += len(prefix)
            return True
        return False

    def _bump_space(self) -> None:
        while not self._eof() and ord(self._char()) in _SKIPPED_SPACE:
            self.offset += 1

    def _identifier(self) -> str:
        start = self.offset
        while not self._eof() and _identifier_char(self._char()):
            self.offset += 1
        return self.message[start : self.offset]

    def _fail(self, kind: str) -> MessageError:
        return MessageError(kind, self.offset)

    # -- grammar
    def _message(self, nesting: int, parent: str) -> str:
        text = ""
        while not self._eof():
            char = self._char()
            if char == "{":
                text += self._argument(nesting)
            elif char == "}" and nesting > 0:
                break
            elif char == "#" and parent in _PLURALS:
                self.offset += 1
                text += "#"
            elif char == "<" and (self._peek() == "/" or _ascii_letter(self._peek())):
                raise self._fail("TAG")
            else:
                text += self._literal(nesting, parent)
        return text

    def _literal(self, nesting: int, parent: str) -> str:
        text = ""
        while not self._eof():
            char = self._char()
            if (quoted := self._quoted(parent)) is not None:
                text += quoted
            elif char in "{<" or (char == "#" and parent in _PLURALS):
                if char == "<" and not (self._peek() == "/" or _ascii_letter(self._peek())):
                    self.offset += 1
                    text += char
                else:
                    break
            elif char == "}":
                if nesting > 0:
                    break
                raise self._fail("UNMATCHED_CLOSING_BRACE")
            else:
                self.offset += 1
                text += char
        return text

    def _quoted(self, parent: str) -> str | None:
        """ICU 4.8 apostrophes: ``''`` is one; ``'`` before ``{ } < >`` (``#`` in a plural)
        quotes up to the next single ``'`` or the end; any other ``'`` is itself."""
        if self._char() != "'":
            return None
        following = self._peek()
        if following == "'":
            self.offset += 2
            return "'"
        if following is None or not (
            following in "{}<>" or (following == "#" and parent in _PLURALS)
        ):
            return None
        self.offset += 2
        text = following
        while not self._eof():
            char = self._char()
            if char == "'":
                if self._peek() == "'":
                    text += "'"
                    self.offset += 2
                    continue
                self.offset += 1
                break
            text += char
            self.offset += 1
        return text

    def _argument(self, nesting: int) -> str:
        self.offset += 1  # {
        self._bump_space()
        if self._eof():
            raise self._fail("EXPECT_ARGUMENT_CLOSING_BRACE")
        if self._char() == "}":
            raise self._fail("EMPTY_ARGUMENT")
        name = self._identifier()
        if not name:
            raise self._fail("MALFORMED_ARGUMENT")
        self.result.arguments.add(name)
        self._bump_space()
        if self._eof():
            raise self._fail("EXPECT_ARGUMENT_CLOSING_BRACE")
        if self._bump_if("}"):
            return "{" + name + "}"
        if not self._bump_if(","):
            raise self._fail("MALFORMED_ARGUMENT")
        self._bump_space()
        if self._eof():
            raise self._fail("EXPECT_ARGUMENT_CLOSING_BRACE")
        start = self.offset
        kind = self._identifier()
        if kind in {"number", "date", "time"}:
            self._simple_style()
        elif kind in {"select", *_PLURALS}:
            self._options(nesting, kind)
        elif not kind:
            raise self._fail("EXPECT_ARGUMENT_TYPE")
        else:
            self.offset = start
            raise self._fail("INVALID_ARGUMENT_TYPE")
        self._close_argument()
        return "{…}"

    def _close_argument(self) -> None:
        if not self._bump_if("}"):
            raise self._fail("EXPECT_ARGUMENT_CLOSING_BRACE")

    def _simple_style(self) -> None:
        """``{n, number}`` or ``{n, number, style}``: the style runs to the brace that closes
        the argument, skipping quoted text and nested braces."""
        self._bump_space()
        if not self._bump_if(","):
            return
        self._bump_space()
        start, depth = self.offset, 0
        while not self._eof():
            char = self._char()
            if char == "'":
                end = self.message.find("'", self.offset + 1)
                if end < 0:
                    raise self._fail("UNCLOSED_QUOTE_IN_ARGUMENT_STYLE")
                self.offset = end + 1
                continue
            if char == "}":
                if depth == 0:
                    break
                depth -= 1
            elif char == "{":
                depth += 1
            self.offset += 1
        if not self.message[start : self.offset].rstrip():
            raise self._fail("EXPECT_ARGUMENT_STYLE")

    def _options(self, nesting: int, kind: str) -> None:
        self._bump_space()
        if not self._bump_if(","):
            raise self._fail("EXPECT_SELECT_ARGUMENT_OPTIONS")
        self._bump_space()
        selector = self._identifier()
        if kind != "select" and selector == "offset":
            if not self._bump_if(":"):
                raise self._fail("EXPECT_PLURAL_ARGUMENT_OFFSET_VALUE")
            self._bump_space()
            self._integer("EXPECT_PLURAL_ARGUMENT_OFFSET_VALUE")
            self._bump_space()
            selector = self._identifier()
        seen: set[str] = set()
        while True:
            if not selector:
                start = self.offset
                if kind == "select" or not self._bump_if("="):
                    break
                self._integer("EXPECT_PLURAL_ARGUMENT_SELECTOR")
                selector = self.message[start : self.offset]
            if selector in seen:
                raise self._fail(f"DUPLICATE_{'SELECT' if kind == 'select' else 'PLURAL'}_SELECTOR")
            seen.add(selector)
            self._bump_space()
            if not self._bump_if("{"):
                raise self._fail("EXPECT_ARGUMENT_SELECTOR_FRAGMENT")
            self._message(nesting + 1, kind)
            self._close_argument()
            self._bump_space()
            selector = self._identifier()
        if not seen:
            raise self._fail("EXPECT_ARGUMENT_SELECTOR")
        if "other" not in seen:
            raise self._fail("MISSING_OTHER_CLAUSE")

    def _integer(self, kind: str) -> None:
        self._bump_if("+") or self._bump_if("-")
        start = self.offset
        while not self._eof() and self._char() in "0123456789":
            self.offset += 1
        if self.offset == start:
            raise self._fail(kind)


def parse_message(message: str) -> Message:
    """The string as intl-messageformat reads it; raises :class:`MessageError`."""
    return _Parser(message).parse()


# -- hassfest's checks of a translation value (script/hassfest/translations.py) -------------
RE_HTML = re.compile(r"<[a-z].*?>", re.IGNORECASE)
RE_PLACEHOLDER_IN_SINGLE_QUOTES = re.compile(r"'{\w+}'")
RE_COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
RE_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)


def python_fields(text: str) -> list[tuple[str, str, str | None]]:
    """The ``str.format`` fields of ``text`` (name, spec, conversion); raises ValueError."""
    return [
        (name, spec or "", conversion)
        for _, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    ]


def hassfest_problems(text: str) -> list[str]:
    problems = []
    if RE_HTML.search(text):
        problems.append("HTML")
    if RE_PLACEHOLDER_IN_SINGLE_QUOTES.search(text):
        problems.append("a placeholder in single quotes")
    if RE_COMBINED_REFERENCE.search(text):
        problems.append("a combined reference")
    if text != text.strip():
        problems.append("leading or trailing spaces")
    if RE_URL.search(text):
        problems.append("a URL (hassfest wants a description placeholder)")
    try:
        names = [name for name, _, _ in python_fields(text)]
    except ValueError as err:
        problems.append(f"braces str.format refuses ({err})")
    else:
        problems.extend(
            f"placeholder {name!r} is no identifier" for name in names if not name.isidentifier()
        )
    return problems


# -- the translation files -------------------------------------------------------------------


@cache
def translation(language: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((TRANSLATIONS / f"{language}.json").read_text("utf-8"))
    return loaded


def leaves(tree: dict[str, Any], prefix: Key = ()) -> Iterator[tuple[Key, Any]]:
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


@cache
def strings(language: str) -> dict[Key, str]:
    return dict(leaves(translation(language)))


def arguments(language: str, key: Key) -> set[str]:
    return parse_message(strings(language)[key]).arguments


def _dotted(key: Key) -> str:
    return ".".join(key)


# -- what the code passes, read with ast --------------------------------------------------------


@dataclass
class Function:
    node: ast.FunctionDef | ast.AsyncFunctionDef
    owner: str | None  # the class of a method
    path: str
    calls: list[ast.Call] = field(default_factory=list)
    assigned: dict[str, list[ast.expr]] = field(default_factory=dict)  # local name → values

    @property
    def parameters(self) -> list[str]:
        return [a.arg for a in self.node.args.posonlyargs + self.node.args.args]

    @property
    def keyword_parameters(self) -> list[str]:
        return [a.arg for a in self.node.args.kwonlyargs]

    @property
    def kwargs(self) -> str | None:
        return self.node.args.kwarg.arg if self.node.args.kwarg else None

    def defaults(self) -> dict[str, ast.expr]:
        args = self.node.args
        positional = args.posonlyargs + args.args
        found = (
            {
                a.arg: d
                for a, d in zip(positional[-len(args.defaults) :], args.defaults, strict=True)
            }
            if args.defaults
            else {}
        )
        found |= {
            a.arg: d
            for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
            if d is not None
        }
        return found


@dataclass
class Code:
    """Every module of the integration: functions (by name), their calls, module constants,
    classes (by name, with their base class names)."""

    functions: dict[str, list[Function]] = field(default_factory=dict)
    callers: dict[str, list[tuple[ast.Call, Function | None]]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """The nodes of a body, not those of the functions and classes defined in it."""
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                todo.append(child)


@cache
def code() -> Code:
    found = Code()
    ambiguous: set[str] = set()
    for path in sorted(INTEGRATION.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        where = str(path.relative_to(INTEGRATION))
        for top in tree.body:
            target = top.target if isinstance(top, ast.AnnAssign) else None
            targets = top.targets if isinstance(top, ast.Assign) else [target] if target else []
            value = top.value if isinstance(top, ast.Assign | ast.AnnAssign) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                for name in (t.id for t in targets if isinstance(t, ast.Name)):
                    if found.constants.setdefault(name, value.value) != value.value:
                        ambiguous.add(name)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                found.classes[node.name] = node
        _collect(tree, None, where, found)
    for name in ambiguous:
        del found.constants[name]
    return found


def _collect(scope: ast.AST, owner: str | None, where: str, found: Code) -> None:
    for node in ast.iter_child_nodes(scope):
        if isinstance(node, ast.ClassDef):
            _collect(node, node.name, where, found)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = Function(node, owner, where)
            found.functions.setdefault(node.name, []).append(function)
            for item in _own_nodes(node.body):
                if isinstance(item, ast.Call):
                    function.calls.append(item)
                    if name := _called(item):
                        found.callers.setdefault(name, []).append((item, function))
                elif isinstance(item, ast.Assign | ast.AugAssign | ast.AnnAssign) and item.value:
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    for target in targets:
                        if isinstance(target, ast.Name):
                            function.assigned.setdefault(target.id, []).append(item.value)
            _collect(node, None, where, found)


class Unreadable(Exception):
    """The code builds a value this reader cannot follow."""


@dataclass
class Scope:
    """Where an expression is read: a function, and what its parameters were bound to by
    one chain of callers (None: not bound, a parameter's value is unknown)."""

    function: Function | None
    bound: dict[str, tuple[ast.expr | frozenset[str], Scope]] | None = None


def _names(node: ast.expr) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _parameters_used(exprs: list[ast.expr], function: Function) -> set[str]:
    """The parameters the expressions read, directly or through local variables."""
    parameters = {*function.parameters, *function.keyword_parameters, function.kwargs}
    used: set[str] = set()
    seen: set[str] = set()
    todo = [name for expr in exprs for name in _names(expr)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in parameters:
            used.add(name)
        for value in function.assigned.get(name, []):
            todo.extend(_names(value))
    return used


def _bind(
    function: Function, call: ast.Call, caller: Scope
) -> dict[str, tuple[ast.expr | frozenset[str], Scope]]:
    """What one call binds each parameter to (defaults for those it leaves out)."""
    parameters = function.parameters
    offset = 1 if function.owner and parameters[:1] in (["self"], ["cls"]) else 0
    bound: dict[str, tuple[ast.expr | frozenset[str], Scope]] = {}
    own = Scope(function)
    for name, default in function.defaults().items():
        bound[name] = (default, own)
    for index, argument in enumerate(call.args):
        if isinstance(argument, ast.Starred):
            raise Unreadable(f"*args in a call of {function.node.name}")
        if index + offset < len(parameters):
            bound[parameters[index + offset]] = (argument, caller)
    extra: set[str] = set()
    for keyword in call.keywords:
        if keyword.arg is None:
            raise Unreadable(f"**kwargs in a call of {function.node.name}")
        if keyword.arg in parameters or keyword.arg in function.keyword_parameters:
            bound[keyword.arg] = (keyword.value, caller)
        else:
            extra.add(keyword.arg)
    if function.kwargs:
        bound[function.kwargs] = (frozenset(extra), caller)
    return bound


def scopes(function: Function | None, needed: set[str], depth: int = 0) -> list[Scope]:
    """One scope per chain of callers that binds the ``needed`` parameters of ``function``."""
    if function is None or not needed:
        return [Scope(function)]
    called = function.node.name
    if called == "__init__" and function.owner:  # a class is called by its name
        called = function.owner
    sites = [
        (call, caller) for call, caller in code().callers.get(called, []) if caller is not function
    ]
    if not sites or depth > 6:
        return [Scope(function)]
    found = []
    for call, caller in sites:
        partial = _bind(function, call, Scope(caller))
        exprs = [
            v[0]
            for k, v in partial.items()
            if k in needed and isinstance(v[0], ast.expr) and v[1].function is caller
        ]
        above = (
            scopes(caller, _parameters_used(exprs, caller), depth + 1) if caller else [Scope(None)]
        )
        for scope in above:
            bound = {
                name: (value, scope if where.function is caller else where)
                for name, (value, where) in partial.items()
                if name in needed
            }
            found.append(Scope(function, bound))
    return found


def _name(name: str, scope: Scope, read: Callable[[ast.expr, Scope], Any]) -> list[Any]:
    """What a name can stand for in a scope: a bound parameter, a local variable, a module
    constant (as values ``read`` returns, one per possibility)."""
    function = scope.function
    if scope.bound is not None and name in scope.bound:
        value, where = scope.bound[name]
        return [value] if isinstance(value, frozenset) else [read(value, where)]
    if function and name in function.assigned:
        return [read(value, scope) for value in function.assigned[name]]
    if name in code().constants:
        return [code().constants[name]]
    raise Unreadable(f"cannot tell what {name} is")


def patterns(node: ast.expr, scope: Scope) -> frozenset[str]:
    """Regular expressions for the strings an expression can be (an f-string's unknown part
    matches anything)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return frozenset({re.escape(node.value)})
    if isinstance(node, ast.IfExp):
        return patterns(node.body, scope) | patterns(node.orelse, scope)
    if isinstance(node, ast.Name):
        found: frozenset[str] = frozenset()
        for value in _name(node.id, scope, patterns):
            found |= {re.escape(value)} if isinstance(value, str) else value
        return found
    if isinstance(node, ast.JoinedStr):
        results = [""]
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                try:
                    options = sorted(patterns(part.value, scope))
                except Unreadable:
                    options = [".+"]
            else:
                assert isinstance(part, ast.Constant)
                options = [re.escape(str(part.value))]
            results = [r + o for r in results for o in options]
        return frozenset(results)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return _caught_attribute(node.value.id, node.attr, scope)
    raise Unreadable(f"cannot read the string {ast.unparse(node)}")


def _caught_attribute(name: str, attribute: str, scope: Scope) -> frozenset[str]:
    """``err.key`` of ``except SomeError as err``: what ``SomeError(...)`` calls pass to the
    ``__init__`` parameter that ``self.key`` is set from."""
    function = scope.function
    caught = [
        handler.type.id
        for handler in (_own_nodes(function.node.body) if function else [])
        if isinstance(handler, ast.ExceptHandler)
        and handler.name == name
        and isinstance(handler.type, ast.Name)
    ]
    found: frozenset[str] = frozenset()
    for init in code().functions.get("__init__", []):
        if init.owner not in caught:
            continue
        for node in _own_nodes(init.node.body):
            if (
                isinstance(node, ast.Assign)
                and isinstance(target := node.targets[0], ast.Attribute)
                and target.attr == attribute
            ):
                for where in scopes(init, _parameters_used([node.value], init)):
                    found |= patterns(node.value, where)
    if not found:
        raise Unreadable(f"cannot tell what {name}.{attribute} is")
    return found


def keys_of(node: ast.expr | None, scope: Scope) -> frozenset[str]:
    """The keys of a placeholders mapping: a dict, ``x if c else None``, a parameter or
    variable holding one, or a call with keyword arguments only (``placeholders(**values)``)."""
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return frozenset()
    if isinstance(node, ast.Dict):
        found: set[str] = set()
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                found |= keys_of(value, scope)
            elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                found.add(key.value)
            elif isinstance(key, ast.Name) and key.id in code().constants:
                found.add(code().constants[key.id])
            else:
                raise Unreadable(f"cannot read the key {ast.unparse(key)}")
        return frozenset(found)
    if isinstance(node, ast.IfExp):
        return keys_of(node.body, scope) | keys_of(node.orelse, scope)
    if isinstance(node, ast.Name):
        result: frozenset[str] = frozenset()
        for value in _name(node.id, scope, keys_of):
            if isinstance(value, str):
                raise Unreadable(f"{node.id} is a string, not placeholders")
            result |= value
        return result
    if isinstance(node, ast.Call) and not node.args:
        found = set()
        for keyword in node.keywords:
            if keyword.arg is not None:
                found.add(keyword.arg)
            else:
                found |= keys_of(keyword.value, scope)
        return frozenset(found)
    raise Unreadable(f"cannot read the placeholders {ast.unparse(node)}")


@dataclass(frozen=True)
class Supply:
    """A place where the code names translation keys (as patterns) with placeholders."""

    patterns: frozenset[str]
    placeholders: frozenset[str]
    where: str

    def names(self, key: str) -> bool:
        return any(re.fullmatch(pattern, key) for pattern in self.patterns)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def supplies(calls: list[tuple[ast.Call, Function]], key: str, placeholders: str) -> list[Supply]:
    """For each call, each chain of callers: the keys it names and the placeholders it passes."""
    found = []
    for call, function in calls:
        key_node = _keyword(call, key)
        placeholder_node = _keyword(call, placeholders)
        if key_node is None:
            continue
        exprs = [node for node in (key_node, placeholder_node) if node is not None]
        where = f"{function.path}:{call.lineno} ({ast.unparse(call.func)})"
        for scope in scopes(function, _parameters_used(exprs, function)):
            try:
                found.append(
                    Supply(patterns(key_node, scope), keys_of(placeholder_node, scope), where)
                )
            except Unreadable as err:
                raise Unreadable(f"{where}: {err}") from err
    return list(dict.fromkeys(found))


def _all_calls() -> Iterator[tuple[ast.Call, Function]]:
    for functions in code().functions.values():
        for function in functions:
            for call in function.calls:
                yield call, function


@cache
def translated_raises() -> dict[str, list[Supply]]:
    """``issues`` and ``exceptions``: where the code names a translation key with its
    placeholders (a repair issue, or an error with a ``translation_domain``)."""
    issues, errors = [], []
    for call, function in _all_calls():
        if _keyword(call, "translation_key") is None:
            continue
        if _called(call) == "async_create_issue":
            issues.append((call, function))
        elif _keyword(call, "translation_domain") is not None:
            errors.append((call, function))
    return {
        "issues": supplies(issues, "translation_key", "translation_placeholders"),
        "exceptions": supplies(errors, "translation_key", "translation_placeholders"),
    }


# -- flows ---------------------------------------------------------------------------------------
SHOWN = {"async_show_form", "async_external_step", "async_show_menu", "async_show_progress"}


def _returned_calls(function_name: str) -> Iterator[ast.expr]:
    for function in code().functions.get(function_name, []):
        for node in _own_nodes(function.node.body):
            if isinstance(node, ast.Return) and node.value is not None:
                yield node.value


@cache
def flow_sections() -> dict[str, Key]:
    """Each flow class and where its texts are: the config flow (``domain=``), the options
    flow (``async_get_options_flow``), each subentry type's flow, and the fix flow
    (``async_create_fix_flow``) under each issue with a ``fix_flow`` text, named
    ``Class#issue`` (one class fixes several issues)."""
    found: dict[str, Key] = {}
    fixable = sorted(
        {key[1] for key in strings("en") if key[0] == "issues" and key[2] == "fix_flow"}
    )
    for value in _returned_calls("async_create_fix_flow"):
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            for issue in fixable:
                found[f"{value.func.id}#{issue}"] = ("issues", issue, "fix_flow")
    for name, node in code().classes.items():
        if any(keyword.arg == "domain" for keyword in node.keywords):
            found[name] = ("config",)
    for value in _returned_calls("async_get_options_flow"):
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            found[value.func.id] = ("options",)
    for value in _returned_calls("async_get_supported_subentry_types"):
        assert isinstance(value, ast.Dict), ast.unparse(value)
        for key, flow in zip(value.keys, value.values, strict=True):
            assert key is not None
            assert isinstance(flow, ast.Name)
            (subentry_type,) = literal_values(key, Scope(None))
            found[flow.id] = ("config_subentries", subentry_type)
    return found


def _ancestors(name: str) -> set[str]:
    found, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in found or current not in code().classes:
            continue
        found.add(current)
        todo.extend(ast.unparse(base).split(".")[-1] for base in code().classes[current].bases)
    return found


@cache
def flow_supplies() -> dict[Key, dict[str, list[Supply]]]:
    """Per flow section: the steps it shows (``step_id`` with ``description_placeholders``),
    the progress it shows (``progress_action`` with them) and the aborts it returns
    (``reason`` with them)."""
    sections = flow_sections()
    shown: list[tuple[ast.Call, Function]] = []
    progress: list[tuple[ast.Call, Function]] = []
    aborted: list[tuple[ast.Call, Function]] = []
    for call, function in _all_calls():
        if _called(call) in SHOWN:
            shown.append((call, function))
        if _called(call) == "async_show_progress":
            progress.append((call, function))
        elif _called(call) == "async_abort":
            aborted.append((call, function))
    found: dict[Key, dict[str, list[Supply]]] = {
        section: {"step": [], "progress": [], "abort": []} for section in sections.values()
    }
    for kind, calls, key in (
        ("step", shown, "step_id"),
        ("progress", progress, "progress_action"),
        ("abort", aborted, "reason"),
    ):
        for call, function in calls:
            owners = [
                section
                for flow, section in sections.items()
                if function.owner and function.owner in _ancestors(flow.split("#")[0])
            ]
            assert owners, (
                f"{function.path}:{call.lineno}: {_called(call)} outside a known flow class"
            )
            for supply in supplies([(call, function)], key, "description_placeholders"):
                for section in owners:
                    found[section][kind].append(supply)
    return found


# -- selectors -------------------------------------------------------------------------------


def _option_values(node: ast.expr, scope: Scope) -> set[str]:
    """The fixed option values of a select selector (values built from data are left out)."""
    if isinstance(node, ast.List | ast.Tuple):
        found: set[str] = set()
        for element in node.elts:
            value = _option_value(element)
            try:
                found |= literal_values(value, scope)
            except Unreadable:
                continue
        return found
    if isinstance(node, ast.Name) and scope.function and node.id in scope.function.assigned:
        found = set()
        for value in scope.function.assigned[node.id]:
            found |= _option_values(value, scope)
        return found
    if isinstance(node, ast.BinOp):
        return _option_values(node.left, scope) | _option_values(node.right, scope)
    return set()


def _option_value(element: ast.expr) -> ast.expr:
    """``SelectOptionDict(value=v, …)`` or ``{"value": v, …}`` → v; a plain option is itself."""
    if isinstance(element, ast.Call) and (value := _keyword(element, "value")) is not None:
        return value
    if isinstance(element, ast.Dict):
        for key, value in zip(element.keys, element.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "value":
                return value
    return element


def literal_values(node: ast.expr, scope: Scope) -> set[str]:
    """The strings an expression can be, each known in full (no f-string part left open)."""
    found = set()
    for pattern in patterns(node, scope):
        value = re.sub(r"\\(.)", r"\1", pattern)
        if re.escape(value) != pattern:
            raise Unreadable(f"an option built at run time: {ast.unparse(node)}")
        found.add(value)
    return found


@cache
def selector_options() -> dict[str, dict[str, str]]:
    """Each selector translation key → its fixed option values → where they are offered."""
    found: dict[str, dict[str, str]] = {}
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text("utf-8"))
    for service, spec in services.items():
        for name, field_spec in (spec.get("fields") or {}).items():
            select = (field_spec.get("selector") or {}).get("select")
            if not select or not select.get("options"):
                continue
            where = f"services.yaml {service}.{name}"
            assert select.get("translation_key"), f"{where} has options but no translation_key"
            for option in select["options"]:
                value = option["value"] if isinstance(option, dict) else option
                found.setdefault(select["translation_key"], {})[str(value)] = where
    for call, function in _all_calls():
        if _called(call) != "SelectSelectorConfig" or _keyword(call, "translation_key") is None:
            continue
        key_node = _keyword(call, "translation_key")
        options_node = _keyword(call, "options")
        where = f"{function.path}:{call.lineno}"
        assert key_node is not None
        assert options_node is not None, where
        needed = _parameters_used([key_node, options_node], function)
        for scope in scopes(function, needed):
            values = _option_values(options_node, scope)
            assert values, f"{where}: no fixed options read from {ast.unparse(options_node)}"
            for key in literal_values(key_node, scope):
                for value in values:
                    found.setdefault(key, {})[value] = where
    return found


# -- tests: the strings themselves ---------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_parses_as_the_frontend_parses_it(language: str) -> None:
    """No ICU syntax error, no tag, no stray brace, nothing hassfest refuses, no reference
    (Home Assistant resolves ``[%key:…%]`` only when building core and the frontend: in a
    custom integration it shows as written)."""
    problems = []
    for key, text in leaves(translation(language)):
        if not isinstance(text, str) or not text:
            problems.append(f"{_dotted(key)}: not a string, or empty")
            continue
        if "[%key:" in text:
            problems.append(f"{_dotted(key)}: a [%key:…%] reference, shown as written")
        try:
            parse_message(text)
        except MessageError as err:
            problems.append(f"{_dotted(key)}: {err}")
        problems.extend(f"{_dotted(key)}: {p}" for p in hassfest_problems(text))
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_exception_messages_read_the_same_in_python(language: str) -> None:
    """The backend formats exception messages with ``str.format``: they hold only plain
    ``{name}`` placeholders and no ICU quoting, so both show the same text."""
    problems = []
    for key, text in strings(language).items():
        if key[0] != "exceptions":
            continue
        message = parse_message(text)
        fields = python_fields(text)
        if message.text != text:
            problems.append(f"{_dotted(key)}: ICU quoting or a complex argument")
        if {name for name, _, _ in fields} != message.arguments or any(
            spec or conversion for _, spec, conversion in fields
        ):
            problems.append(f"{_dotted(key)}: str.format reads other fields: {fields}")
    assert problems == [], "\n".join(problems)


def test_parser_reads_icu_as_intl_messageformat_does() -> None:
    """The parser itself: what intl-messageformat accepts, and its errors."""
    accepted = {
        "The location's {name}": {"name"},
        "{ name }": {"name"},
        "'{literal}' and ''": set(),
        "It's {count, plural, one {# day} other {# days}} in {where}": {"count", "where"},
        "{n, plural, offset:1 =0 {none} other {{who}}}": {"n", "who"},
        "{kind, select, house {a} other {b}}": {"kind"},
        "{x, number, ::currency/EUR}": {"x"},
        "{when, date, short}": {"when"},
        "a < b, 5 <= 6, -> →": set(),
    }
    for message, names in accepted.items():
        assert parse_message(message).arguments == names, message
    assert parse_message("'{literal}' and ''").text == "{literal} and '"
    refused = {
        "a list of {start, end, kwh}": "INVALID_ARGUMENT_TYPE",
        "{}": "EMPTY_ARGUMENT",
        "{name": "EXPECT_ARGUMENT_CLOSING_BRACE",
        "{a b}": "MALFORMED_ARGUMENT",
        "{a,": "EXPECT_ARGUMENT_CLOSING_BRACE",
        "{a,}": "EXPECT_ARGUMENT_TYPE",
        "{a, , x}": "EXPECT_ARGUMENT_TYPE",
        "{n, plural, one {x}}": "MISSING_OTHER_CLAUSE",
        "{n, plural, other {x} other {y}}": "DUPLICATE_PLURAL_SELECTOR",
        "{n, select}": "EXPECT_SELECT_ARGUMENT_OPTIONS",
        "{n, number, }": "EXPECT_ARGUMENT_STYLE",
        "end }": "UNMATCHED_CLOSING_BRACE",
        "<b>bold</b>": "TAG",
        "a</b>": "TAG",
    }
    for message, kind in refused.items():
        with pytest.raises(MessageError) as caught:
            parse_message(message)
        assert caught.value.kind == kind, message


# -- tests: the other languages follow English ---------------------------------------------------


def test_there_are_translations() -> None:
    """German, Dutch, French, Spanish and Italian beside English."""
    assert {"en", "de", "nl", "fr", "es", "it"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_same_keys_as_english(language: str) -> None:
    missing = sorted(map(_dotted, strings("en").keys() - strings(language).keys()))
    extra = sorted(map(_dotted, strings(language).keys() - strings("en").keys()))
    assert (missing, extra) == ([], []), f"{language}: missing {missing}, not in English {extra}"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_same_placeholders_as_english(language: str) -> None:
    differ = [
        f"{_dotted(key)}: {sorted(arguments(language, key))} ≠ {sorted(arguments('en', key))}"
        for key in strings("en").keys() & strings(language).keys()
        if arguments(language, key) != arguments("en", key)
    ]
    assert differ == [], "\n".join(differ)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_translated_not_copied(language: str) -> None:
    """Most strings differ from English (names like 'Flatpeak' may not)."""
    en, other = strings("en"), strings(language)
    same = [key for key in en if other.get(key) == en[key] and len(en[key].split()) > 2]
    assert same == [], f"{language} repeats English in {[_dotted(k) for k in same]}"


# -- tests: placeholders the code passes ----------------------------------------------------------


def _english_with_placeholders(section: str) -> dict[Key, set[str]]:
    return {
        key: arguments("en", key)
        for key in strings("en")
        if key[0] == section and arguments("en", key)
    }


@pytest.mark.parametrize("section", ["exceptions", "issues"])
def test_raised_with_every_placeholder_they_name(section: str) -> None:
    """Each place that raises an error or a repair issue passes every placeholder its English
    text names; each text is raised somewhere, each raised key has a text."""
    raised = translated_raises()[section]
    texts = {key[1] for key in strings("en") if key[0] == section}
    problems = []
    for name in sorted(texts):
        matching = [supply for supply in raised if supply.names(name)]
        if not matching:
            problems.append(f"{section}.{name}: nothing raises it")
        needed = set().union(
            *(
                arguments("en", key)
                for key in strings("en")
                if key[:2] == (section, name) and key[2:3] != ("fix_flow",)  # the flow's own
            )
        )
        problems.extend(
            f"{section}.{name}: {supply.where} does not pass {sorted(needed - supply.placeholders)}"
            for supply in matching
            if not needed <= supply.placeholders
        )
    for supply in raised:
        if not any(supply.names(name) for name in texts):
            problems.append(
                f"{supply.where}: raises {sorted(supply.patterns)} with no text in {section}"
            )
    assert problems == [], "\n".join(problems)


def test_flow_texts_name_only_placeholders_their_step_passes() -> None:
    """A step's texts use its form's ``description_placeholders``; a progress text those of
    its progress step; an error's those of every form of its flow; an abort's those of every
    abort with that reason."""
    problems = []
    for flow, section in flow_sections().items():
        shown = flow_supplies()[section]
        for key, text in strings("en").items():
            if key[: len(section)] != section:
                continue
            names = parse_message(text).arguments
            if not names:
                continue
            rest = key[len(section) :]
            if rest[0] == "step":
                matching = [s for s in shown["step"] if s.names(rest[1])]
            elif rest[0] == "error":
                matching = shown["step"]
            elif rest[0] == "progress":
                matching = [s for s in shown["progress"] if s.names(rest[1])]
            elif rest[0] == "abort":
                matching = [s for s in shown["abort"] if s.names(rest[1])]
            else:
                matching = []
            if not matching:
                problems.append(f"{_dotted(key)} names {sorted(names)}; {flow} passes none there")
            problems.extend(
                f"{_dotted(key)} names {sorted(names - s.placeholders)}, not passed at {s.where}"
                for s in matching
                if not names <= s.placeholders
            )
    assert problems == [], "\n".join(problems)


def test_no_placeholders_where_nothing_passes_them() -> None:
    """Actions, entities and selector labels get no placeholders from this integration."""
    flows = {section[0] for section in flow_sections().values()}
    named = [
        f"{_dotted(key)}: {sorted(arguments('en', key))}"
        for key in strings("en")
        if key[0] not in {*flows, "exceptions", "issues"} and arguments("en", key)
    ]
    assert named == []


def test_reader_finds_what_the_code_passes() -> None:
    """The ast reader itself: known raises, steps and selectors are found with their
    placeholders (through helpers such as ``invalid(key, **values)``)."""
    raised = translated_raises()
    by_key = {
        name: [s.placeholders for s in raised["exceptions"] if s.names(name)]
        for name in ("time_out_of_range", "simulation_range_too_long", "action_pending_connect")
    }
    assert by_key["time_out_of_range"] == [{"field", "time", "earliest", "latest"}]
    assert {"field", "days"} in by_key["simulation_range_too_long"]
    assert by_key["action_pending_connect"] == [{"location"}]
    assert any(
        s.names("currency_mismatch") and s.placeholders == {"location", "currency", "ha_currency"}
        for s in raised["issues"]
    )
    assert any(s.names("sensor_missing") for s in raised["issues"])
    sections = flow_sections()
    assert set(sections.values()) >= {
        ("config",),
        ("options",),
        ("config_subentries", "house_meter"),
        ("config_subentries", "ev_charger"),
    }
    assert any(
        s.names("connect") and s.placeholders == {"connect_url"}
        for s in flow_supplies()[("config",)]["progress"]
    )
    config = flow_supplies()[("config",)]["step"]
    assert any(
        s.names("reauth_confirm") and s.placeholders == {"location", "dashboard_url"}
        for s in config
    )
    meter = flow_supplies()[("config_subentries", "house_meter")]["step"]
    assert any(s.names("existing") for s in meter)
    assert selector_options()["location"].keys() == {"connect", "manual"}


# -- tests: selector options -----------------------------------------------------------------


def test_every_selector_option_has_a_label() -> None:
    """services.yaml's select options and the flows' selectors with a ``translation_key``:
    each option has a label under ``selector.<key>.options`` (in every language, since they
    have English's keys), and each label belongs to an option."""
    labels = translation("en").get("selector", {})
    problems = []
    for key, options in selector_options().items():
        texts = labels.get(key, {}).get("options", {})
        problems.extend(
            f"selector.{key}.options.{value}: missing (offered at {where})"
            for value, where in options.items()
            if not texts.get(value)
        )
    for key, spec in labels.items():
        offered = selector_options().get(key, {})
        problems.extend(
            f"selector.{key}.options.{value}: no selector offers it"
            for value in spec.get("options", {})
            if value not in offered
        )
    assert problems == [], "\n".join(problems)
