#!/usr/bin/env python3
"""The API reference's documentation rule, in one place (docs/conventions.md, "Documenting
the API").

  apidoc.py filter HEADER
      doxygen's INPUT_FILTER: prints HEADER with its plain C comments turned into doxygen
      comments, line for line (the line numbers of warnings and of the reference stay
      those of the header).
  apidoc.py check [--known FILE] [--groups] HEADER...
      lists the public entities of the headers that no comment documents, by the same
      rule, without doxygen. --groups also lists every comment that documents more than
      one declaration, to review.
  apidoc.py doxygen DOXYGEN DOXYFILE [--known FILE] [--input PATH]
      runs doxygen with DOXYFILE (on PATH instead of its INPUT when given) into a temporary
      directory and fails on any warning and on any public entity (enum values included,
      which doxygen does not warn about) that the reference leaves undocumented.

FILE lists entities known to be undocumented (one name a line, `#` comments): they are
reported but do not fail; an entry that is documented now fails, so the list only shrinks.

The rule, for the declarations of a header at file scope and for the fields and values
inside a struct or enum body:
  - a comment on the line(s) directly above a declaration documents it; a comment after a
    declaration on its last line (`int x; /* ... */`) documents that declaration;
  - a comment above documents the declarations that follow directly (no blank line, no
    comment of their own) as well: `sp_money_add`, `_sub` and `_mul` under one comment;
  - a comment directly above an `#if` block documents the macro the block defines (the
    first, when it defines several);
  - for a versioned struct `sp_x` (its first field `uint32_t version`), SP_X_VERSION,
    SP_X_INIT and sp_x_init(sp_x *, uint32_t), and for any type sp_x the destructor
    `void sp_x_free(sp_x *)`, are documented by docs/conventions.md when no comment of
    their own documents them (one above a run does not): the filter writes their text;
  - the file's first comment is the file's description. Section banners
    (`/* ==== Title ==== */`, `/* ---- title ---- */`, or three lines with `====` rules)
    document nothing and stay plain, like every other comment (doxygen would show member
    groups out of the header's order), as do `//` comments.
"""
import bisect
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

IDENT = re.compile(r"[A-Za-z_]\w*")


# ---- lexing ----------------------------------------------------------------------------

class Comment:
    def __init__(self, start, end, first, last, text, after_code):
        self.start, self.end = start, end        # offsets of "/*" and just past "*/"
        self.first, self.last = first, last      # line numbers (1-based)
        self.text = text
        self.after_code = after_code             # code precedes it on its first line
        self.used = False


class Token:
    def __init__(self, kind, text, start, end, line):
        self.kind, self.text, self.start, self.end, self.line = kind, text, start, end, line


class Source:
    """A header split into comments, preprocessor directives and code tokens."""

    def __init__(self, text):
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.comments = []
        self.tokens = []   # code tokens and directives ("#" kind: one per logical line)
        self._lex()

    def line_of(self, offset):
        return bisect.bisect_right(self.line_starts, offset)

    def _code_before(self, offset):
        """Whether anything but blanks and comments precedes offset on its line."""
        start = self.line_starts[self.line_of(offset) - 1]
        before = self.text[start:offset]
        before = re.sub(r"/\*.*?\*/", "", before)
        return before.strip() != ""

    def _comment(self, i):
        end = self.text.find("*/", i + 2)
        if end < 0:
            raise SyntaxError(f"line {self.line_of(i)}: unterminated comment")
        end += 2
        self.comments.append(Comment(i, end, self.line_of(i), self.line_of(end - 1),
                                     self.text[i:end], self._code_before(i)))
        return end

    def _lex(self):
        text, i, n = self.text, 0, len(self.text)
        at_line_start = True
        while i < n:
            c = text[i]
            if c == "\n":
                at_line_start = True
                i += 1
            elif c in " \t\r\f\v":
                i += 1
            elif text.startswith("/*", i):
                i = self._comment(i)
            elif text.startswith("//", i):
                i = text.find("\n", i)
                i = n if i < 0 else i
            elif c == "#" and at_line_start:
                i = self._directive(i)
            else:
                at_line_start = False
                m = IDENT.match(text, i)
                if m:
                    kind, end = "id", m.end()
                elif c in "\"'":
                    end = i + 1
                    while end < n and text[end] != c:
                        end += 2 if text[end] == "\\" else 1
                    kind, end = "lit", end + 1
                else:
                    m = re.compile(r"\d\w*").match(text, i)
                    kind, end = ("num", m.end()) if m else ("p", i + 1)
                self.tokens.append(Token(kind, text[i:end], i, end, self.line_of(i)))
                i = end

    def _directive(self, i):
        """One logical preprocessor line; comments inside it are comments."""
        text, n, start = self.text, len(self.text), i
        body, code_end = [], i
        while i < n and text[i] != "\n":
            if text.startswith("/*", i):
                i = self._comment(i)
                body.append(" ")
            elif text.startswith("\\\n", i):
                body.append(" ")
                i += 2
            else:
                if not text[i].isspace():
                    code_end = i + 1
                body.append(text[i])
                i += 1
        # end: just past its last character that is not a comment or a blank
        tok = Token("#", "".join(body).strip(), start, code_end, self.line_of(start))
        tok.last = self.line_of(code_end - 1)
        self.tokens.append(tok)
        return i


# ---- parsing ---------------------------------------------------------------------------

class Decl:
    """A documentable declaration: at file scope, or a field or enum value in a body."""

    def __init__(self, kind, names, first, last, end, scope=None):
        self.kind = kind            # function, macro, typedef, struct, enum, field, value
        self.names = names          # a field may declare several: `size_t a, b;`
        self.first, self.last = first, last   # its lines
        self.end = end              # offset just past its last token
        self.commas = []            # offsets just past the commas between field declarators
        self.scope = scope          # the struct of a field, the enum of a value
        self.lead = None            # the comment directly above
        self.trail = None           # the comment after it on its last line
        self.head = None            # the declaration whose comment it shares (a run)
        self.convention = None      # the text the versioned-struct convention gives it
        self.members = []
        self.start = None           # offset of its first token
        self.version_first = False  # a struct whose first field is `uint32_t version`
        self.conditional = False    # macros defined in an #if block

    @property
    def name(self):
        return self.names[0]

    def qualified(self, name=None):
        name = name or self.name
        return f"{self.scope.name}.{name}" if self.kind == "field" else name

    def documented(self):
        return bool(self.lead or self.trail or self.head or self.convention)


def declarator_name(tokens):
    """The name a declarator declares: `*name`, `name[3]`, `(*name)(...)`, `name(...)`."""
    for k, t in enumerate(tokens):
        if t.text == "(":
            if k + 2 < len(tokens) and tokens[k + 1].text == "*" and tokens[k + 2].kind == "id":
                return tokens[k + 2].text
            ids = [u for u in tokens[:k] if u.kind == "id"]
            return ids[-1].text if ids else None
    ids = [t for t in tokens if t.kind == "id"]
    for k, t in enumerate(tokens):
        if t.text in ("[", "=", ":"):
            ids = [u for u in tokens[:k] if u.kind == "id"]
            break
    return ids[-1].text if ids else None


def split_depth0(tokens, sep):
    """Split tokens at `sep` outside parentheses, brackets and braces."""
    parts, cur, depth = [], [], 0
    for t in tokens:
        if t.text in "([{" and t.kind == "p":
            depth += 1
        elif t.text in ")]}" and t.kind == "p":
            depth -= 1
        if t.text == sep and t.kind == "p" and depth == 0:
            parts.append((cur, t))
            cur = []
        else:
            cur.append(t)
    if cur:
        parts.append((cur, None))
    return parts


class Header:
    def __init__(self, path, text=None):
        self.path = path
        self.text = open(path, encoding="utf-8").read() if text is None else text
        self.src = Source(self.text)
        self.decls = []       # file-scope declarations, in order
        self.file_doc = None
        self._parse()
        self._attach()

    # -- declarations --

    def _parse(self):
        toks = self.src.tokens
        k, stmt, depth, guard = 0, [], 0, None
        while k < len(toks):
            t = toks[k]
            if t.kind != "#":
                stmt.append(t)
                if t.kind == "p" and t.text in "{}":
                    depth += 1 if t.text == "{" else -1
                elif t.text == ";" and depth == 0:
                    self._statement(stmt)
                    stmt = []
                k += 1
                continue
            words = t.text[1:].split()
            word = words[0] if words else ""
            following = toks[k + 1].text.split() if k + 1 < len(toks) else []
            if word == "ifndef" and guard is None and not self.decls and len(words) > 1 \
                    and following == ["#define", words[1]]:
                guard = words[1]      # the include guard: its content is the file
                k += 2
            elif word == "ifdef" and words[1:] == ["SP_STATIC_LINKING_ONLY"]:
                k += 1                # declarations outside the stable ABI: documented alike
            elif word in ("if", "ifdef", "ifndef"):
                k = self._conditional(k, skip="__cplusplus" in t.text)
            elif word == "define" and len(words) > 1:
                name = IDENT.match(words[1]).group(0)
                d = Decl("macro", [name], t.line, t.last, t.end)
                d.start = t.start
                self.decls.append(d)
                k += 1
            else:                     # #include, the guard's #endif, ...
                k += 1

    def _conditional(self, k, skip):
        """An #if block: C++-only code is skipped; the macros other blocks define (SP_API)
        are declarations that start at the #if."""
        toks, depth, names, first = self.src.tokens, 0, [], self.src.tokens[k]
        while k < len(toks):
            t = toks[k]
            if t.kind == "#":
                word = (t.text[1:].split() or [""])[0]
                if word in ("if", "ifdef", "ifndef"):
                    depth += 1
                elif word == "endif":
                    depth -= 1
                    if depth == 0:
                        break
                elif word == "define" and not skip:
                    name = IDENT.match(t.text[1:].split()[1]).group(0)
                    if name not in names:
                        names.append(name)
            k += 1
        for name in names:   # the comment above goes to the first (doxygen's @def names one)
            d = Decl("macro", [name], first.line, toks[k].last, toks[k].end)
            d.start, d.conditional = first.start, True
            self.decls.append(d)
        return k + 1

    def _statement(self, stmt):
        texts = [t.text for t in stmt]
        first, semi = stmt[0], stmt[-1]
        if texts[:2] == ["extern", '"C"']:
            return
        if "{" in texts:
            open_ = texts.index("{")
            close = len(texts) - 1 - texts[::-1].index("}")
            kind = "enum" if "enum" in texts[:open_] else "struct"
            after = [t for t in stmt[close + 1:] if t.kind == "id"]
            tag = [t for t in stmt[:open_]
                   if t.kind == "id" and t.text not in ("typedef", "struct", "enum", "union")]
            name = after[-1].text if after else tag[-1].text
            d = Decl(kind, [name], first.line, semi.line, semi.end)
            self._body(d, stmt[open_ + 1:close])
        else:
            kind = "function" if texts[0] != "typedef" else "typedef"
            if kind == "function" and "(" not in texts:
                kind = "variable"
            name = declarator_name(stmt[:-1])
            d = Decl(kind, [name], first.line, semi.line, semi.end)
        d.start = first.start
        self.decls.append(d)

    def _body(self, owner, toks):
        if owner.kind == "enum":
            for part, comma in split_depth0(toks, ","):
                if not part:
                    continue
                last = comma or part[-1]
                v = Decl("value", [part[0].text], part[0].line, last.line, last.end, owner)
                v.start = part[0].start
                owner.members.append(v)
            return
        for part, semi in split_depth0(toks, ";"):
            if not part or semi is None:
                continue
            pieces = split_depth0(part, ",")
            # The declarators after the first share its type: `size_t a, *b;`.
            names = [declarator_name(p) for p, _ in pieces]
            f = Decl("field", names, part[0].line, semi.line, semi.end, owner)
            f.start = part[0].start
            f.commas = [c.end for _, c in pieces if c is not None]
            owner.members.append(f)
        if owner.members and [t.text for t in toks[:3]] == ["uint32_t", "version", ";"]:
            owner.version_first = True

    # -- comments --

    @staticmethod
    def _banner(c):
        """`/* ==== Title ==== */`, `/* ---- title ---- */`, or a title between two
        `====` rules."""
        lines = [ln.strip() for ln in c.text.splitlines()]
        if len(lines) == 1:
            return re.match(r"^/\*\s*(={3,}|-{3,}).*(={3,}|-{3,})\s*\*/$", lines[0]) is not None
        return re.match(r"^/\*\s*={3,}$", lines[0]) is not None and \
            re.match(r"^\*\s*={3,}\s*\*/$", lines[-1]) is not None

    def _attach(self):
        comments = self.src.comments
        if comments and comments[0].first == 1 and not comments[0].after_code:
            self.file_doc = comments[0]
            comments[0].used = True
        for c in comments:
            if not c.used and not c.after_code and self._banner(c):
                c.used = True       # documents nothing
        for decls in [self.decls] + [d.members for d in self.decls]:
            self._attach_scope(decls)
        self._convention()
        for decls in [self.decls] + [d.members for d in self.decls]:
            self._runs(decls)

    def _attach_scope(self, decls):
        by_last, by_first = {}, {}
        for d in decls:
            by_last[d.last] = d     # a trailing comment goes to the last one ending there
            by_first.setdefault(d.first, d)
        for c in self.src.comments:
            if c.used:
                continue
            if c.after_code:
                d = by_last.get(c.first)
                if d is not None and d.trail is None and c.start >= d.end:
                    d.trail, c.used = c, True
            else:
                d = by_first.get(c.last + 1)
                if d is not None and d.lead is None:
                    d.lead, c.used = c, True

    @staticmethod
    def _runs(decls):
        """A declaration with no comment of its own, directly below one documented by the
        comment above it (or sharing one), shares that comment."""
        for prev, d in zip(decls, decls[1:]):
            if d.lead or d.trail or d.convention or prev.trail:
                continue
            below = prev.last + 1
            if d.first == below and (prev.lead or prev.head):
                d.head = prev.head or prev

    def _convention(self):
        structs = [d.name for d in self.decls if d.kind == "struct" and d.version_first]
        for d in self.decls:
            if d.lead or d.trail:
                continue
            if d.kind == "function" and d.name.endswith("_free"):
                handle = d.name[:-len("_free")]
                if re.search(rf"\bvoid\s+{d.name}\s*\(\s*{handle}\s*\*\s*\w*\s*\)",
                             self.text[d.start:d.end]):
                    d.convention = (f"Free an {handle} (NULL is accepted; docs/conventions.md, "
                                    f"\"Ownership\").")
                continue
            for s in structs:
                macro = s.upper()             # sp_x: SP_X_VERSION, SP_X_INIT
                if d.kind == "macro" and d.name == f"{macro}_VERSION":
                    d.convention = (f"The newest version of {s} that these headers know "
                                    f"(docs/conventions.md, \"Versioned structs\").")
                elif d.kind == "macro" and d.name == f"{macro}_INIT":
                    d.convention = (f"An initializer of {s} for C with the defaults of "
                                    f"version {macro}_VERSION: `{s} x = {macro}_INIT;`.")
                elif d.kind == "function" and d.name == f"{s}_init":
                    d.convention = (f"Fill `*{self._first_param(d)}` with the defaults of "
                                    f"struct version `version`, as {macro}_INIT does for "
                                    f"the newest (for FFI, which has no macros). SP_EINVAL "
                                    f"for NULL; SP_EVERSION for version 0 or a version newer "
                                    f"than the library's.")

    def _first_param(self, d):
        decl = self.text[d.start:d.end]
        m = re.search(r"\(\s*[\w\s]*\*\s*(\w+)", decl)
        return m.group(1) if m else "ptr"

    # -- results --

    def entities(self):
        """(decl, name) for every public entity, file scope first then members."""
        for d in self.decls:
            for name in d.names:
                yield d, name
            for m in d.members:
                for name in m.names:
                    yield m, name

    def undocumented(self):
        return [(d, d.qualified(n)) for d, n in self.entities() if not d.documented()]


# ---- filter ----------------------------------------------------------------------------

def escape(text):
    """Doxygen reads a backslash or an at sign as a command, `#name` as a link, `%` as
    "no link", `<` and `&` as HTML: the headers mean them literally. Code spans and quoted
    strings are left as they are (doxygen shows them verbatim)."""
    parts = re.split(r"(`[^`\n]*`|\"[^\"]*\")", text)   # doxygen's quotes span lines
    for k in range(0, len(parts), 2):
        parts[k] = re.sub(r"([\\@#%<>&])", r"\\\1", parts[k])
    return "".join(parts)


SENTENCE = re.compile(r"""`[^`\n]*`|"[^"]*"|(?P<blank>\n[ \t]*\*?[ \t]*\n)"""
                      r"""|(?<![.])(?<!\be\.g)(?<!\bi\.e)[.!?](?=\s|$)""")
LEAD = re.compile(r"^(?:\s*\n[ \t]*\*(?!/))*[ \t]*")


def briefed(text):
    """`@brief` before the comment's first sentence, `@details` after it (doxygen's
    JAVADOC_AUTOBRIEF ends a brief at any '.' that no letter follows, cutting "e.g. a" or
    "'.' and"). A sentence ends at '.', '!' or '?' before a blank, outside code spans and
    quoted strings, not in "e.g.", "i.e." or "..."; a blank line ends the brief too."""
    for m in SENTENCE.finditer(text):
        if m.group("blank"):
            break
        if m.group(0) in ".!?":
            if text[m.end():].strip(" \t\n*"):
                text = text[:m.end()] + " @details" + text[m.end():]
            break
    lead = LEAD.match(text).end()
    return text[:lead] + "@brief " + text[lead:]


MARKER = re.compile(r"([-+*]|\d+\.)\s")


def markdown_safe(body):
    """Lines as the header means them, under doxygen's Markdown:
     - a block indented two or more columns deeper than the text, set off by blank lines
       (a table), is shown as written (Markdown wants four);
     - a line of running text that starts with "- ", "+ ", "* " or "1. " because the
       sentence wrapped there is no list item: a list item starts after a blank line or
       deeper than the text (`*  - item`)."""
    lines = body.split("\n")
    parts = [re.match(r"^(\s*\*(?!/))?( *)(.*)$", ln).groups() for ln in lines]
    base = {}
    for star, sp, rest in parts[1:]:
        if rest.strip():
            base[bool(star)] = min(base.get(bool(star), len(sp)), len(sp))
    k = 1
    while k < len(lines):
        star, sp, rest = parts[k]
        blank_before = not parts[k - 1][2].strip()
        deeper = rest.strip() and len(sp) >= base[bool(star)] + 2
        if star and deeper and blank_before and not MARKER.match(rest):
            while k < len(lines) and parts[k][0] and parts[k][2].strip() and \
                    len(parts[k][1]) >= base[True] + 2:
                lines[k] = parts[k][0] + "  " + parts[k][1] + parts[k][2]
                k += 1
            continue
        if MARKER.match(rest) and not blank_before and len(sp) == base[bool(star)]:
            lines[k] = (star or "") + sp + "&zwj;" + rest
        k += 1
    return "\n".join(lines)


def comment_body(c):
    """The text between the comment's delimiters (doxygen's own `/**`, `/*!`, `/**<` read
    as plain)."""
    return re.sub(r"^/\*(?:[*!](?!/))?<?", "", c.text)[:-2]


def one_line(text):
    lines = [re.sub(r"^\s*\*(?!/)\s?", "", ln).strip() for ln in text.splitlines()]
    return " ".join(ln for ln in lines if ln)


def filtered(header):
    """The header text with doc comments, same lines."""
    edits = []          # (start, end, replacement), non-overlapping

    def text_of(body):
        return briefed(markdown_safe(escape(body)))

    def doc(c, marker, suffix=""):
        edits.append((c.start, c.end, "/**" + marker + text_of(comment_body(c)) + suffix + "*/"))

    def after(offset, text):
        edits.append((offset, offset, text))

    def ref(d):
        return f"{d.scope.name}::{d.name}" if d.kind == "field" else d.name

    if header.file_doc:
        c = header.file_doc
        # The page is titled with the file's name: "salesplan/x.h - what" becomes "What".
        body = re.sub(r"^(\s*\*?\s*)[\w/.]+\.h\s+-\s+(\w)",
                      lambda m: m.group(1) + m.group(2).upper(), comment_body(c), count=1)
        # At the end, where it takes no file name.
        edits.append((c.start, c.end, "/**" + text_of(body).rstrip(" ") + " @file */"))

    def decl_docs(d):
        if d.lead:
            # Doxygen sees one branch of an #if: name the macro (last: @def takes the line).
            doc(d.lead, "", f"@def {d.name} " if d.conditional else "")
        if d.trail:
            doc(d.trail, "<")
        if d.head:
            after(d.end, f" /**< @copydoc {ref(d.head)} */")
        elif d.convention and not (d.lead or d.trail):
            after(d.end, " /**< " + briefed(d.convention) + " */")
        # Every declarator of a field gets the field's comment. Doxygen gives a comment
        # above to the first only, and `/**<` to the one before it: add one after each
        # comma but the first's, and after the `;` unless a comment is there already.
        if d.kind == "field" and d.commas and d.documented():
            if d.head:
                text = f"@copydoc {ref(d.head)}"
            else:
                text = briefed(escape(" ".join(one_line(comment_body(x))
                                               for x in (d.lead, d.trail) if x)))
            for comma in d.commas[1:] if d.lead else d.commas:
                after(comma, f" /**< {text} */")
            if d.lead and not d.trail:
                after(d.end, f" /**< {text} */")

    for d in header.decls:
        decl_docs(d)
        for m in d.members:
            decl_docs(m)

    edits.sort(key=lambda e: (e[0], e[1]))
    out, pos = [], 0
    for start, end, repl in edits:
        if start < pos:
            raise ValueError(f"{header.path}: overlapping edits at offset {start}")
        out.append(header.text[pos:start])
        out.append(repl)
        pos = end
    out.append(header.text[pos:])
    result = "".join(out)
    if result.count("\n") != header.text.count("\n"):
        raise ValueError(f"{header.path}: the filter changed the number of lines")
    return result


# ---- check -----------------------------------------------------------------------------

KIND = {"function": "function", "macro": "macro", "typedef": "type", "struct": "struct",
        "enum": "enum", "field": "field", "value": "enum value", "variable": "variable"}


def read_known(path):
    if not path:
        return set()
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.add(line)
    return names


def report(undocumented, known, where):
    """Print the undocumented entities (name -> (file, line, kind)); return the exit
    status."""
    new = {n: loc for n, loc in undocumented.items() if n not in known}
    old = {n: loc for n, loc in undocumented.items() if n in known}
    stale = sorted(known - set(undocumented))
    for title, found in ((f"{len(old)} known undocumented entities ({where}):", old),
                         (f"UNDOCUMENTED ({len(new)}): give each a comment (docs/conventions.md,"
                          f" \"Documenting the API\"):", new)):
        if found:
            print(title)
            for n in sorted(found, key=lambda n: found[n]):
                f, line, kind = found[n]
                print(f"  {f}:{line}: {kind} {n}")
    if stale:
        print(f"documented now, remove from {where}: {' '.join(stale)}")
    return 1 if new or stale else 0


def cmd_check(args):
    known_path, groups, paths = None, False, []
    it = iter(args)
    for a in it:
        if a == "--known":
            known_path = next(it)
        elif a == "--groups":
            groups = True
        else:
            paths.append(a)
    undocumented = {}
    for path in paths:
        h = Header(path)
        filtered(h)           # raises if it could not keep the header's lines
        base = os.path.basename(path)
        for d, name in h.undocumented():
            undocumented[name] = (base, d.first, KIND[d.kind])
        if groups:
            for decls in [h.decls] + [d.members for d in h.decls]:
                for d in decls:
                    shared = [x.qualified() for x in decls if x.head is d]
                    if shared:
                        print(f"{base}:{d.first}: the comment of {d.qualified()} also "
                              f"documents {', '.join(shared)}")
    status = report(undocumented, read_known(known_path),
                    os.path.normpath(known_path) if known_path else "the headers")
    if status == 0:
        print(f"every public entity of {len(paths)} header(s) is documented"
              + (" (but for the known ones)" if undocumented else ""))
    return status


# ---- doxygen ---------------------------------------------------------------------------

NOT_DOCUMENTED = re.compile(
    r"warning: (?:Member (\w+)\S*(?:\(.*\))? \((\w[\w ]*)\) of (?:struct|union|file) (\S+)"
    r"|Compound (\w+)) is not documented\.")


# doxygen's names of kinds, as the checker names them
DOXYGEN_KIND = {"define": "macro", "variable": "field", "typedef": "type", "compound": "struct",
                "enum value": "enum value", "enum": "enum", "function": "function"}


def xml_text(node):
    return "".join(node.itertext()).strip() if node is not None else ""


def xml_undocumented(xmldir):
    """Every member the XML output gives no description: enum values included."""
    found = {}
    for name in os.listdir(xmldir):
        if not name.endswith(".xml") or name in ("index.xml", "Doxyfile.xml"):
            continue
        root = ET.parse(os.path.join(xmldir, name)).getroot()
        for cd in root.iter("compounddef"):
            kind, cname = cd.get("kind"), cd.findtext("compoundname")
            if kind not in ("file", "struct", "union"):
                continue
            loc = cd.find("location")
            cfile = os.path.basename(loc.get("file")) if loc is not None else "?"
            for md in cd.iter("memberdef"):
                mname = md.findtext("name")
                mloc = md.find("location")
                line = int(mloc.get("line")) if mloc is not None else 0
                qual = mname if kind == "file" else f"{cname}.{mname}"
                if not (xml_text(md.find("briefdescription")) or
                        xml_text(md.find("detaileddescription"))):
                    found[qual] = (cfile, line, DOXYGEN_KIND.get(md.get("kind"), md.get("kind")))
                for ev in md.iter("enumvalue"):
                    if not (xml_text(ev.find("briefdescription")) or
                            xml_text(ev.find("detaileddescription"))):
                        found[ev.findtext("name")] = (cfile, line, "enum value")
    return found


def cmd_doxygen(args):
    doxygen, doxyfile = args[0], args[1]
    opts = dict(zip(args[2::2], args[3::2]))
    known_path, input_path = opts.get("--known"), opts.get("--input")
    tmp = tempfile.mkdtemp(prefix="salesplan-apidoc-")
    try:
        log = os.path.join(tmp, "warnings.log")
        with open(doxyfile, encoding="utf-8") as f:
            config = f.read()
        # The same configuration, but XML only, into the temporary directory.
        config += (f'\nOUTPUT_DIRECTORY = "{tmp}"\nGENERATE_HTML = NO\nGENERATE_XML = YES\n'
                   f'XML_OUTPUT = xml\nWARN_LOGFILE = "{log}"\nQUIET = YES\n')
        if input_path:
            config += f'INPUT = "{input_path}"\n'
        run = subprocess.run([doxygen, "-"], input=config, text=True, capture_output=True)
        if run.returncode != 0:
            print(run.stdout + run.stderr)
            print(f"doxygen failed with status {run.returncode}")
            return 1
        with open(log, encoding="utf-8") as f:
            warnings = [ln.rstrip("\n") for ln in f if ln.strip()]
        undocumented = xml_undocumented(os.path.join(tmp, "xml"))
        others = []
        for w in warnings:
            m = NOT_DOCUMENTED.search(w)
            if not m:
                others.append(w)
                continue
            name = m.group(4) or m.group(1)
            if m.group(3) and not m.group(3).endswith(".h"):
                name = f"{m.group(3)}.{name}"
            path, line = (w.split(": warning")[0].rsplit(":", 1) + ["0"])[:2]
            kind = DOXYGEN_KIND.get(m.group(2) or "compound", m.group(2))
            undocumented.setdefault(name, (os.path.basename(path), int(line), kind))
        status = report(undocumented, read_known(known_path),
                    os.path.normpath(known_path) if known_path else "the headers")
        if others:
            print(f"doxygen warnings ({len(others)}):")
            for w in others:
                print("  " + w)
            status = 1
        if status == 0:
            print("doxygen: no warnings; every public entity is documented"
                  + (" (but for the known ones)" if undocumented else ""))
        return status
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    if len(argv) >= 3 and argv[1] == "filter":
        sys.stdout.write(filtered(Header(argv[2])))
        return 0
    if len(argv) >= 3 and argv[1] == "check":
        return cmd_check(argv[2:])
    if len(argv) >= 4 and argv[1] == "doxygen":
        return cmd_doxygen(argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
