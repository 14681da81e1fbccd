"""The README stays true: its Python examples run, and its claim table matches the model."""

import re
from pathlib import Path

import pytest

import queuemodel as qm

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_examples_run(code):
    exec(compile(code, "README.md", "exec"), {})


ROWS = re.findall(r"^\| (S[1-6]) \| [^|]+ \| [^|]+ \| ([0-9.]+) \|", README, flags=re.M)
CASES = {"S1": ("native", "tcp"), "S2": ("linux-overlay", "tcp"),
         "S3": ("docker-overlay", "tcp"), "S4": ("native", "udp"),
         "S5": ("linux-overlay", "udp"), "S6": ("docker-overlay", "udp")}


def test_readme_lists_the_six_throughput_claims():
    assert [cid for cid, _ in ROWS] == list(CASES)


@pytest.mark.parametrize("cid, shown", ROWS)
def test_claim_table_matches_the_model(cid, shown):
    path, proto = CASES[cid]
    assert qm.predict(path=path, proto=proto).throughput_gbps == pytest.approx(float(shown),
                                                                               abs=0.006)
