"""The rule reference of docs/policy.md, generated from the rule classes' key declarations so the
two never drift (a test compares them). Regenerate with:

    python -m jpegaudit.policy.reference
"""

from __future__ import annotations

from jpegaudit.policy.keys import Key
from jpegaudit.policy.loader import TOP_LEVEL_KEYS
from jpegaudit.policy.rules import FILE_RULE_COMMON_KEYS, RULE_KINDS, DriftRule

BEGIN = "<!-- BEGIN GENERATED REFERENCE (python -m jpegaudit.policy.reference) -->"
END = "<!-- END GENERATED REFERENCE -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(keys: tuple[Key, ...]) -> list[str]:
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for key in keys:
        kind = key.type_doc()
        if key.choices or key.pattern_doc:
            kind += f"; values: {key.choices_doc()}"
        default = "required" if key.required else (key.default_doc or "not set")
        lines.append(f"| `{key.name}` | {_cell(kind)} | {_cell(default)} | {_cell(key.doc)} |")
    return lines


def reference_markdown() -> str:
    lines = [BEGIN, "", "### Top level", ""]
    lines += _table(TOP_LEVEL_KEYS)
    lines += [
        "| `rule` | array of tables | required | The rules, each a `[[rule]]` table. |",
        "",
        "### Keys of every file rule",
        "",
        "Every kind except `drift` and `label-leakage` also takes these keys.",
        "",
    ]
    lines += _table(FILE_RULE_COMMON_KEYS)
    for kind, cls in RULE_KINDS.items():
        lines += ["", f"### `{kind}`", "", cls.summary, ""]
        if cls.common_keys != FILE_RULE_COMMON_KEYS:
            common = ", ".join(f"`{k.name}`" for k in cls.common_keys)
            missing = "no `splits`, no tolerance" if cls is DriftRule else "no tolerance"
            lines += [f"Common keys: {common} only ({missing}).", ""]
        if cls.keys:
            lines += _table(cls.keys)
        else:
            lines.append("No keys of its own.")
    lines += ["", END]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference_markdown(), end="")
