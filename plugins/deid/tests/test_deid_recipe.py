"""Recipes: parsing, every action, precedence, private creators, character sets, and the
README's examples."""

from __future__ import annotations

import re
import tomllib
from typing import TYPE_CHECKING

import pytest
from deid_support import KEY, PLUGIN, deid_bytes, read, to_bytes
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicomstream_deid import DeidConfig, Keyring, load_recipe
from dicomstream_deid._recipe import parse_recipe

if TYPE_CHECKING:
    from pathlib import Path


def _dataset() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1.7.1"
    ds.StudyDate = "20200315"
    ds.AcquisitionDate = "20200316"
    ds.StudyDescription = "Knee MRI"
    ds.Manufacturer = "Société Générale d'Imagerie"
    ds.PatientName = "Doe^John"
    ds.PatientID = "MRN-42"
    ds.ClinicalTrialSubjectID = "S1"
    ds.OperatorsName = "Op^One"
    request = Dataset()
    request.RequestedProcedureID = "RP-991"
    request.AccessionNumber = "ACC-7"
    ds.RequestAttributesSequence = Sequence([request])
    block = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    block.add_new(0x0C, "IS", "1000")
    block.add_new(0x08, "LO", "Some text")
    other = ds.private_block(0x0029, "ACME 1.0", create=True)
    other.add_new(0x10, "LO", "Acme note")
    return ds


def _run(toml: str, **kwargs: object) -> Dataset:
    recipe = parse_recipe(tomllib.loads(toml), source="recipe:test.toml")
    config = DeidConfig.create(KEY, recipe=recipe, **kwargs)  # type: ignore[arg-type]
    return read(deid_bytes(to_bytes(_dataset()), config)[0])


def test_actions_by_keyword_tag_and_path() -> None:
    out = _run('''
        [[rule]]
        target = "StudyDescription"
        action = "keep"
        [[rule]]
        target = "(0010,0010)"
        action = "replace"
        value = "TRIAL^SUBJECT"
        [[rule]]
        target = "AcquisitionDate"
        action = "shift"
        [[rule]]
        target = "StudyDate"
        action = "remove"
        [[rule]]
        target = "ClinicalTrialSubjectID"
        action = "hash"
        [[rule]]
        target = "OperatorsName"
        action = "dummy"
        [[rule]]
        target = "RequestAttributesSequence[*].RequestedProcedureID"
        action = "hash"
        [[rule]]
        target = "RequestAttributesSequence[0].AccessionNumber"
        action = "empty"
        [[rule]]
        target = "Manufacturer"
        action = "empty"
    ''')
    keyring = Keyring(KEY)
    assert out.StudyDescription == "Knee MRI"
    assert str(out.PatientName) == "TRIAL^SUBJECT"
    offset = keyring.date_offset("MRN-42")
    import datetime as dt
    assert out.AcquisitionDate == (dt.date(2020, 3, 16) + dt.timedelta(days=offset)).strftime(
        "%Y%m%d")
    assert "StudyDate" not in out
    assert out.ClinicalTrialSubjectID.startswith("H") and out.ClinicalTrialSubjectID != "S1"
    assert out.OperatorsName == "ANONYMIZED"
    request = out.RequestAttributesSequence[0] if "RequestAttributesSequence" in out else None
    assert request is None  # the sequence itself is X in the table: path rules inside
    out = _run('''
        [[rule]]
        target = "RequestAttributesSequence"
        action = "keep"
        [[rule]]
        target = "RequestAttributesSequence[*].RequestedProcedureID"
        action = "hash"
        [[rule]]
        target = "RequestAttributesSequence[0].AccessionNumber"
        action = "keep"
    ''')
    request = out.RequestAttributesSequence[0]
    assert request.RequestedProcedureID.startswith("H")
    assert request.AccessionNumber == "ACC-7"  # the path rule beats the table's Z
    again = _run('''
        [[rule]]
        target = "RequestAttributesSequence"
        action = "keep"
        [[rule]]
        target = "RequestAttributesSequence[*].RequestedProcedureID"
        action = "hash"
    ''')
    assert again.RequestAttributesSequence[0].RequestedProcedureID == \
        request.RequestedProcedureID  # keyed: the same everywhere


def test_private_creator_rules_and_safe_private_extension() -> None:
    out = _run('''
        [[rule]]
        private_creator = "ACME 1.0"
        action = "keep"
    ''')
    private = {e.private_creator: e.value for e in out if e.tag.is_private and
               not e.tag.is_private_creator}
    assert private == {"ACME 1.0": "Acme note"}
    out = _run('''
        [profile]
        options = ["retain-safe-private"]
        safe_private = [{ creator = "ACME 1.0", group = "0029", element = "10" }]
        [[rule]]
        private_creator = "SIEMENS MR HEADER"
        element = "0C"
        action = "remove"
    ''')
    private = {e.private_creator: e.value for e in out if e.tag.is_private and
               not e.tag.is_private_creator}
    assert private == {"ACME 1.0": "Acme note"}  # the rule beats the safe list
    assert out.DeidentificationMethodCodeSequence[1].CodeValue == "113111"


def test_non_ascii_replacement_switches_to_utf8() -> None:
    region = Dataset()
    region.SpecificCharacterSet = "ISO_IR 100"
    region.CodeValue = "T-D0050"
    region.CodingSchemeDesignator = "SRT"
    region.CodeMeaning = "Tête"
    ds = _dataset()
    ds.AnatomicRegionSequence = Sequence([region])
    recipe = parse_recipe(tomllib.loads('''
        [[rule]]
        target = "PatientName"
        action = "replace"
        value = "山田^太郎"
    '''))
    raw, _ = deid_bytes(to_bytes(ds), DeidConfig.create(KEY, recipe=recipe))
    nested = read(raw).AnatomicRegionSequence[0]
    assert nested.SpecificCharacterSet == "ISO_IR 192"  # items follow the dataset
    assert nested.CodeMeaning == "Tête" and "Tête".encode() in raw
    out = _run('''
        [[rule]]
        target = "PatientName"
        action = "replace"
        value = "山田^太郎"
        [[rule]]
        target = "Manufacturer"
        action = "keep"
    ''')
    assert out.SpecificCharacterSet == "ISO_IR 192"
    assert str(out.PatientName) == "山田^太郎"
    assert out.Manufacturer == "Société Générale d'Imagerie"  # transcoded, same text
    latin = _run('''
        [[rule]]
        target = "PatientName"
        action = "replace"
        value = "Müller^Jörg"
    ''')
    assert latin.SpecificCharacterSet == "ISO_IR 100"  # Latin-1 holds it: unchanged
    assert str(latin.PatientName) == "Müller^Jörg"


@pytest.mark.parametrize(("toml", "message"), [
    ('[[rule]]\ntarget = "PatientName"\naction = "obliterate"', "action"),
    ('[[rule]]\ntarget = "PatientName"\naction = "replace"', "needs a value"),
    ('[[rule]]\ntarget = "NoSuchKeyword"\naction = "keep"', "unknown keyword"),
    ('[[rule]]\naction = "keep"', "target"),
    ('[[rule]]\ntarget = "PatientName"\naction = "keep"\ncolour = "red"', "unknown key"),
    ('[[rule]]\nprivate_creator = "X"\ngroup = "0010"\naction = "keep"', "not private"),
    ('[profile]\noptions = ["retain-all"]', "unknown option"),
    ('[rules]\n', "unknown section"),
])
def test_bad_recipes_say_why(toml: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_recipe(tomllib.loads(toml))


def test_load_recipe_reports_toml_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[rule]\n")
    with pytest.raises(ValueError, match="bad.toml"):
        load_recipe(path)


def test_readme_examples_parse() -> None:
    text = (PLUGIN / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        recipe = parse_recipe(tomllib.loads(block))
        assert recipe.tag_rules or recipe.path_rules or recipe.private_rules
    site = parse_recipe(tomllib.loads(blocks[0]))
    out = read(deid_bytes(to_bytes(_dataset()), DeidConfig.create(KEY, recipe=site))[0])
    assert str(out.PatientName) == "TRIAL01^SUBJECT"
    assert out.StudyDescription == "Knee MRI"


@pytest.mark.parametrize(("age", "policy", "expected"), [
    ("095Y", "round", "090Y"), ("018M", "round", "001Y"), ("045Y", "round", "045Y"),
    ("018M", "keep", "018M"),
])
def test_age_kept_or_rounded(age: str, policy: str, expected: str) -> None:
    ds = _dataset()
    ds.PatientAge = age
    config = DeidConfig.create(KEY, ["retain-patient-characteristics"], age=policy)
    assert read(deid_bytes(to_bytes(ds), config)[0]).PatientAge == expected
    assert "PatientAge" not in read(deid_bytes(to_bytes(ds), DeidConfig.create(
        KEY, age=policy))[0])  # basic profile: X
