"""The repository explains itself: every `docs/<file>.md §N` a module cites exists, and no
module points at notes outside the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "whatsapp", "templates_app", "campaigns", "webhooks", "config", "scripts")
CITATION = re.compile(r"(docs/[a-z-]+\.md)((?:\s*(?:§|/ §)\s*[0-9][0-9.]*)*)")
SECTION = re.compile(r"§\s*([0-9]+(?:\.[0-9]+)*)")


def sources():
    for app in (*APPS, "bench", "tests"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def has_section(document: str, number: str) -> bool:
    """A heading `## 4.` / `### 1.2 …`, or a list item `- **9.7**`."""
    heading = re.compile(rf"^#+\s+{re.escape(number)}\.?\s", re.M)
    item = re.compile(rf"^-\s+\*\*{re.escape(number)}\*\*", re.M)
    return bool(heading.search(document) or item.search(document))


def test_every_cited_document_and_section_exists():
    missing = []
    for path in sources():
        text = path.read_text(encoding="utf-8")
        for match in CITATION.finditer(text):
            doc = ROOT / match.group(1)
            if not doc.exists():
                missing.append(f"{path.relative_to(ROOT)}: {match.group(1)}")
                continue
            content = doc.read_text(encoding="utf-8")
            for number in SECTION.findall(match.group(2)):
                if not has_section(content, number.rstrip(".")):
                    missing.append(f"{path.relative_to(ROOT)}: {match.group(1)} §{number}")
    assert missing == []


def test_no_module_cites_notes_outside_the_repository():
    outside = re.compile(r"(?<!docs/)\b(WHATSAPP|ARCHITECTURE|PRODUCT|STYLE)\.md|shared/docs")
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources()
        if path.name != "test_docs.py" and outside.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
