"""`undertone themes --file`: recurring topics in any file of messages (no database)."""
from click.testing import CliRunner

from integration.cli import main
from integration.cli.topics import read_messages

MESSAGES = [
    "Why is there a late fee on my bill?",
    "You charged me late fees again.",
    "Can I book a gutter cleaning for Friday?",
    "The gutter cleaning was great, thanks",
    "okay",
]


def topic_lines(output: str) -> dict[str, str]:
    return {line.split("  ")[1].strip(): line for line in output.splitlines()[1:] if line.startswith("  ")}


def test_one_message_per_line(tmp_path):
    path = tmp_path / "messages.txt"
    path.write_text("\n".join(MESSAGES[:2] + [""] + MESSAGES[2:]) + "\n")
    result = CliRunner().invoke(main, ["themes", "--file", str(path), "--top", "5"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Recurring topics in messages.txt (5 messages; messages per topic):"
    lines = topic_lines(result.output)
    assert set(lines) == {"late fee", "gutter cleaning"}
    assert " 2  e.g. \"Why is there a late fee on my bill?\"" in lines["late fee"]


def test_a_tsv_with_a_text_column(tmp_path):
    path = tmp_path / "dev.tsv"
    rows = ["label\ttext\tnote"] + [f"neutral\t{text}\tx" for text in MESSAGES]
    path.write_text("\n".join(rows) + "\n")
    assert read_messages(path) == MESSAGES
    result = CliRunner().invoke(main, ["themes", "--file", str(path), "--top", "1"])
    assert result.exit_code == 0, result.output
    assert list(topic_lines(result.output)) == ["gutter cleaning"]  # two messages each: alphabetical first


def test_a_file_without_recurring_topics(tmp_path):
    path = tmp_path / "quiet.txt"
    path.write_text("okay\nsee u at 6\n")
    result = CliRunner().invoke(main, ["themes", "--file", str(path)])
    assert result.exit_code == 0 and result.output.splitlines()[1] == "  none yet"


def test_a_file_that_cannot_be_read_is_a_clear_error(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\xe9 late fee\n".encode("latin-1"))
    result = CliRunner().invoke(main, ["themes", "--file", str(path)])
    assert result.exit_code == 1 and "not UTF-8 text" in result.output, result.output
    tsv = tmp_path / "huge.tsv"
    tsv.write_text("label\ttext\nneutral\t" + "x" * 200_000 + "\n", encoding="utf-8")  # over csv's field limit
    result = CliRunner().invoke(main, ["themes", "--file", str(tsv)])
    assert result.exit_code == 1 and "cannot read it as TSV" in result.output, result.output
