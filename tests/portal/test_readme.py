from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_environment_variable_the_settings_read_is_in_the_readme_table():
    settings_source = (ROOT / "portal" / "settings.py").read_text()
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Settings") :]
    table = table[: table.index("\n## ")]
    read = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', settings_source))

    assert read, "no environment variables found: the settings changed how they read them"
    missing = sorted(name for name in read if f"`{name}`" not in table)
    assert missing == [], f"README's Settings table lacks {missing}"


def test_the_readme_shows_the_two_commands_and_an_existing_screenshot():
    readme = (ROOT / "README.md").read_text()

    assert "make run" in readme
    assert "make test" in readme
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme):
        assert (ROOT / image).is_file(), image


def test_every_management_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    commands = [
        path.stem
        for app in ("portal", "accounts", "pricing")
        for path in (ROOT / app / "management" / "commands").glob("*.py")
        if path.stem != "__init__"
    ]

    assert commands
    assert [name for name in commands if name not in readme] == []
