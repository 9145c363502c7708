#!/usr/bin/env python3
"""Every relative link in README.md and docs/*.md resolves: the file (or folder) exists
and, for `file.md#anchor` or `#anchor`, the file has a heading with that anchor as GitHub
makes it (lowercase; letters, digits, `_`, `-` and spaces kept, spaces to `-`; a repeated
heading gets `-1`, `-2`, ...). Links inside code are not links. Absolute URLs are not
checked (the tests have no network).

Usage: check_doc_links.py <source root>"""
import pathlib
import re
import sys
import unicodedata

LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]*)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", flags=re.S | re.M)
CODE = re.compile(r"(`+).+?\1", flags=re.S)


def slug(heading):
    text = heading.strip().lower()
    kept = "".join(c for c in text
                   if c in " -_" or unicodedata.category(c)[0] in "LMN")
    return kept.replace(" ", "-")


def anchors(text):
    seen = {}
    out = set()
    for m in re.finditer(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", FENCE.sub("", text), flags=re.M):
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    files = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    cache = {}
    problems = []
    count = 0
    for doc in files:
        text = doc.read_text(encoding="utf-8")
        prose = CODE.sub("", FENCE.sub("", text))
        for m in LINK.finditer(prose):
            target = m.group(1)
            if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # empty, or an absolute URL (https:, mailto:)
            count += 1
            path, _, anchor = target.partition("#")
            dest = (doc.parent / path).resolve() if path else doc
            where = f"{doc.relative_to(root)}: ({target})"
            if not dest.exists():
                problems.append(f"{where}: {path} does not exist")
                continue
            if not anchor:
                continue
            if dest.suffix != ".md" or not dest.is_file():
                problems.append(f"{where}: an anchor into a file that is not Markdown")
                continue
            if dest not in cache:
                cache[dest] = anchors(dest.read_text(encoding="utf-8"))
            if anchor not in cache[dest]:
                problems.append(f"{where}: {dest.relative_to(root)} has no heading "
                                f"#{anchor}")
    if count == 0:
        problems.append("no relative link found: the link pattern no longer matches the docs")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"{count} relative links in {len(files)} files resolve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
