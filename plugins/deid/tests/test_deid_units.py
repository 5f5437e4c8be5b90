"""The pieces: table loading (this edition and another), keyed hashes, date shifting,
compound codes, dummies, cleaning, and that every row of the table is covered."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from deid_support import KEY, OTHER_KEY, TSV, table_rows

from dicomstream_deid import OPTIONS, Keyring, load_safe_private, load_table
from dicomstream_deid._actions import (
    Cleaner,
    dummy_value,
    resolve_compound,
    shift_date_value,
)
from dicomstream_deid._table import load_iod_types, normalize_option


def test_shipped_table() -> None:
    table = load_table()
    assert table.edition == "2026d"
    assert len(table.rules) == 657
    counts: dict[str, int] = {}
    for rule in table.rules:
        counts[rule.basic] = counts.get(rule.basic, 0) + 1
    assert counts == {"X": 417, "D": 93, "U": 55, "Z": 42, "X/D": 23, "X/Z": 11,
                      "X/Z/D": 8, "Z/D": 6, "X/Z/U*": 2}
    assert getattr(table.rule_for(0x00100020), "basic", None) == "Z/D"
    assert table.rule_for(0x60023000) is table.overlay_data
    assert table.rule_for(0x60034000) is table.private  # odd group: private
    assert table.rule_for(0x601E4000) is table.overlay_comments
    assert table.rule_for(0x60204000) is None  # beyond the repeating groups
    assert table.rule_for(0x501E1234) is table.curve
    assert table.rule_for(0x00291010) is table.private
    assert table.private is not None and table.private.options == {"retain-safe-private": "C"}


def test_another_edition_loads(tmp_path: Path) -> None:
    lines = TSV.read_text(encoding="utf-8").splitlines()
    edited = [lines[0]] + [line.replace("\tZ\t", "\tX\t", 1) if line.startswith("(0010,0030)")
                           else line for line in lines[1:]]
    path = tmp_path / "confidentiality-profile-2027a.tsv"
    path.write_text("\n".join(edited) + "\n", encoding="utf-8")
    table = load_table(path)
    assert table.edition == "2027a"
    assert getattr(table.rule_for(0x00100030), "basic", None) == "X"
    bad = tmp_path / "bad.tsv"
    bad.write_text("tag\tname\n(0010,0010)\tPatient's Name\n")
    with pytest.raises(ValueError, match="header"):
        load_table(bad)
    bad.write_text(lines[0] + "\n(0010,0010)\tName\tN\tQ" + "\t" * 10 + "\n")
    with pytest.raises(ValueError, match="unknown Basic Profile code"):
        load_table(bad)


def test_every_row_is_covered_by_a_test() -> None:
    """The row tests cover every exact row outside the meta group; the rest are covered
    by the tests named here."""
    separately = {
        "(0002,0003)": "test_deid_rules.py::test_meta_instance_uid_follows",
        "(50xx,xxxx)": "test_deid_leftovers.py::test_overlays_and_curves",
        "(60xx,3000)": "test_deid_leftovers.py::test_overlays_and_curves",
        "(60xx,4000)": "test_deid_leftovers.py::test_overlays_and_curves",
        "(gggg,eeee)": "test_deid_leftovers.py::test_safe_private_kept_only_when_asked",
    }
    rows = table_rows()
    assert len(rows) == 657
    by_row_test = {r.tag_text for r in rows if r.tag is not None and r.tag >> 16 != 0x0002}
    assert by_row_test | set(separately) == {r.tag_text for r in rows}


def test_safe_private_list_and_iod_types() -> None:
    safe = load_safe_private()
    assert safe.is_safe("GEMS_PARM_01", 0x00431027)
    assert safe.is_safe("SIEMENS MR HEADER", 0x0019110C)  # any block
    assert not safe.is_safe("SIEMENS MR HEADER", 0x00191008)
    assert len(safe.entries) > 400
    known, types = load_iod_types()
    assert "1.2.840.10008.5.1.4.1.1.2" in known
    assert types["1.2.840.10008.5.1.4.1.1.88.33"][0x00080023] == "1"


def test_option_names() -> None:
    assert normalize_option("Retain_UIDs") == "retain-uids"
    assert len(OPTIONS) == 10
    with pytest.raises(ValueError, match="retain-uids"):
        normalize_option("keep-uids")


def test_uids_are_uuid_derived_and_keyed() -> None:
    keyring = Keyring(KEY)
    uid = keyring.uid("1.2.3.4.5")
    assert uid.startswith("2.25.") and len(uid) <= 64
    value = uuid.UUID(int=int(uid[5:]))
    assert value.version == 8 and value.variant == uuid.RFC_4122
    assert keyring.uid("1.2.3.4.5\0") == uid == Keyring(KEY).uid("1.2.3.4.5")
    assert Keyring(OTHER_KEY).uid("1.2.3.4.5") != uid
    assert keyring.uid("1.2.3.4.6") != uid
    assert keyring.patient_id("A").startswith("ID-") and len(keyring.patient_id("A")) == 19
    assert keyring.patient_name("A") != keyring.patient_name("B")
    assert -3650 <= keyring.date_offset("A") <= -1
    assert keyring.fingerprint() != Keyring(OTHER_KEY).fingerprint()
    with pytest.raises(ValueError, match="16 bytes"):
        Keyring(b"short")


@pytest.mark.parametrize(("vr", "text", "days", "expected"), [
    ("DA", "20200301", -1, "20200229"),
    ("DA", "2020.03.01", -1, "20200229"),
    ("DA", "20200101\\20201231", -366, "20181231\\20191231"),
    ("DA", "20200101-20200131", -1, "20191231-20200130"),
    ("DA", "-20200131", -1, "-20200130"),
    ("DT", "20200301101112.5+0100", -1, "20200229101112.5+0100"),
    ("DT", "20200301101112-0500", -1, "20200229101112-0500"),
    ("DT", "202003", -1, "202002"),
    ("DT", "2020", -1, "2019"),
    ("DT", "20200301", 2, "20200303"),
    ("TM", "101112.5", -400, "101112.5"),
    ("DA", "not a date", -1, None),
    ("DA", "20201301", -1, None),
])
def test_date_shifting(vr: str, text: str, days: int, expected: str | None) -> None:
    assert shift_date_value(vr, text, days) == expected


@pytest.mark.parametrize(("code", "iod_type", "expected"), [
    ("Z/D", "1", "D"), ("Z/D", "2", "Z"), ("Z/D", "3", "Z"), ("Z/D", None, "D"),
    ("X/Z", "2", "Z"), ("X/Z", "3", "X"), ("X/Z", None, "Z"), ("X/Z", "1", "Z"),
    ("X/D", "1", "D"), ("X/D", "2", "D"), ("X/D", "3", "X"), ("X/D", None, "D"),
    ("X/Z/D", "1", "D"), ("X/Z/D", "2", "Z"), ("X/Z/D", "3", "X"), ("X/Z/D", None, "D"),
    ("X/Z/U*", "1", "U"), ("X/Z/U*", "2", "Z"), ("X/Z/U*", "3", "X"),
    ("X/Z/U*", None, "U"), ("X", "1", "X"), ("K", None, "K"),
])
def test_compound_codes(code: str, iod_type: str | None, expected: str) -> None:
    assert resolve_compound(code, iod_type) == expected


def test_dummies_fit_their_vr() -> None:
    assert dummy_value(0x00100010, "PN", True) == b"ANONYMIZED"
    assert dummy_value(0x00080020, "DA", True) == b"19000101"
    assert dummy_value(0x00080030, "TM", True) == b"000000"
    assert dummy_value(0x0008002A, "DT", True) == b"19000101000000"
    assert dummy_value(0x00101010, "AS", True) == b"000D"
    assert dummy_value(0x00280010, "US", False) == b"\0\0"
    assert dummy_value(0x00181150, "IS", True) == b"0 "
    assert dummy_value(0x04000565, "CS", True) == b"COERCE"  # an enumerated value
    assert len(dummy_value(0x00420011, "OB", True)) % 2 == 0
    for vr in ("SH", "AE", "CS"):
        assert len(dummy_value(0, vr, True)) <= 16


def test_cleaner() -> None:
    cleaner = Cleaner()
    cleaner.add("Müller^Hans-Jürgen^^Dr.", person_name=True)
    cleaner.add("St. Elsewhere General")
    text = "CT of MÜLLER, hans-jürgen at St. Elsewhere General, MRN 12345678, 03/12/2023"
    assert cleaner.clean(text) == "CT of ***, *** at ***, MRN ***, ***"
    assert cleaner.clean("CT CHEST W/O CONTRAST") == "CT CHEST W/O CONTRAST"


def test_public_api() -> None:
    import dicomstream_deid

    for name in dicomstream_deid.__all__:
        assert hasattr(dicomstream_deid, name), name
    assert isinstance(dicomstream_deid.__all__, tuple)
    assert dicomstream_deid.DeidStage.name == "deid"


def test_plugin_imports_only_public_dicomstream_modules() -> None:
    import ast

    source = Path(__file__).resolve().parents[1] / "src" / "dicomstream_deid"
    for path in source.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                if name.startswith("dicomstream."):
                    assert not any(part.startswith("_") for part in name.split(".")), \
                        f"{path.name} imports {name}"


def test_config_and_audit_pickle_for_cluster_runs(tmp_path: Path) -> None:
    import pickle

    from dicomstream_deid import DeidConfig, JsonLinesAudit

    audit = JsonLinesAudit(tmp_path / "audit.jsonl", values=True)
    config = DeidConfig.create(KEY, ["retain-uids"], audit=audit)
    config.plan("1.2.840.10008.5.1.4.1.1.2")  # caches are not shipped
    copy = pickle.loads(pickle.dumps(config))
    assert copy.options == config.options and copy.edition == config.edition
    assert copy.keyring.uid("1.2.3") == config.keyring.uid("1.2.3")
    assert copy.audit is not None and copy.audit.values
    copy.audit.write([{"a": 1}])
    audit.write([{"b": 2}])
    audit.close()
    assert (tmp_path / "audit.jsonl").read_text().splitlines() == ['{"a": 1}', '{"b": 2}']


def test_unknown_sop_classes_share_one_plan() -> None:
    """Made-up SOP Class UIDs (hostile or broken inputs) must not each cost a plan."""
    from dicomstream_deid import DeidConfig

    config = DeidConfig.create(KEY)
    ct = config.plan("1.2.840.10008.5.1.4.1.1.2")
    plans = [config.plan(f"1.2.3.{i}") for i in range(500)]
    assert [p.sop_class for p in plans] == [f"1.2.3.{i}" for i in range(500)]
    assert all(p.top is plans[0].top and not p.iod_known for p in plans)
    assert ct.iod_known and ct.top is not plans[0].top
    assert len(config._plans) == 2  # CT, and one for every unknown class
