"""What each motion-capture source is, who made it and under which licence: the one place for it.

The trainer builds the checkpoint's `training.data` and `license` lines from this table, and
`make_demo` takes the demo file's attribution from it, so the words a model card shows about the
training data are written once. Keyed by the source names of `mocap_dataset.SOURCES`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MocapSource:
    dataset: str                # the dataset's name, as its authors spell it
    part: str | None = None     # which set of a dataset published in several ("1", "2")
    owner: str | None = None    # who holds the rights
    licence: str | None = None  # e.g. "CC BY-NC 4.0"; None: no licence named here
    non_commercial: bool = False
    terms: str = ""             # where the conditions of use are stated, for data without a licence

    @property
    def attribution(self) -> str:
        """The credit line a file derived from this source carries."""
        return ", ".join(s for s in (f"{self.dataset} by {self.owner}" if self.owner else self.dataset, self.licence) if s)


_BANDAI = "Bandai-Namco-Research-Motiondataset"
_BANDAI_OWNER = "Bandai Namco Research Inc."
SOURCES: dict[str, MocapSource] = {
    "bandai1": MocapSource(_BANDAI, "1", _BANDAI_OWNER, "CC BY-NC 4.0", non_commercial=True),
    "bandai2": MocapSource(_BANDAI, "2", _BANDAI_OWNER, "CC BY-NC 4.0", non_commercial=True),
    "cmu": MocapSource("CMU mocap subset", owner="CMU Graphics Lab",
                       terms="CMU: the mocap.cs.cmu.edu terms"),
    "custom": MocapSource("a custom BVH library", terms="custom: its own licence"),
    "cmu-extra": MocapSource("CMU mocap extra trials (ASF/AMC, motion-prediction set, cgspeed BVH)", owner="CMU Graphics Lab",
                             terms="CMU: the mocap.cs.cmu.edu terms"),
}


DEFAULT_SOURCES = ("bandai1", "bandai2", "cmu")   # what `train`, `prepare-data` and the `test` split read by default


def data_description(names) -> str:
    """One line on the training data, e.g. "Bandai-Namco-Research-Motiondataset 1+2 (CC BY-NC 4.0)
    and CMU mocap subset; test split held out": the parts of one dataset are listed together."""
    groups: dict[str, list[MocapSource]] = {}
    for name in names:
        source = SOURCES[name]
        groups.setdefault(source.dataset, []).append(source)
    phrases = []
    for dataset, parts in groups.items():
        numbers = "+".join(p.part for p in parts if p.part)
        licence = parts[0].licence
        phrases.append(" ".join(s for s in (dataset, numbers, f"({licence})" if licence else "") if s))
    joined = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return f"{joined}; test split held out"


def weights_licence(names) -> str:
    """What the training data allows of the trained weights, e.g. "weights: non-commercial use only
    (CC BY-NC 4.0 training data)"."""
    sources = [SOURCES[n] for n in names]
    restricted = list(dict.fromkeys(s.licence for s in sources if s.non_commercial))
    if restricted:
        return f"weights: non-commercial use only ({', '.join(restricted)} training data)"
    terms = list(dict.fromkeys(s.terms or s.licence or s.dataset for s in sources))
    return f"weights: see the conditions of the training data ({'; '.join(terms)})"
