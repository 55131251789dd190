"""The licence table: every spelling of a model licence → one canonical id with its properties.

Pure data and small lookups, shared by the crawler (ModelScope spells licences its own way) and the analyses,
so both normalise with the same table. Facts: docs hub-apis.md §4 (Qwen licences on the Hub).

Classes (``Licence.klass``), from least to most constrained in what a derivative may do:
``permissive`` (commercial use, attribution at most), ``conditional`` (commercial use under conditions: use
restrictions, user caps, a required notice), ``copyleft`` (derivatives keep the same terms), ``non-commercial``
(research / non-commercial only), ``no-derivatives``, and the two non-answers ``unknown`` and ``missing``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

PERMISSIVE, CONDITIONAL, COPYLEFT, NON_COMMERCIAL, NO_DERIVATIVES, UNKNOWN, MISSING = (
    "permissive", "conditional", "copyleft", "non-commercial", "no-derivatives", "unknown", "missing")
CLASSES = (PERMISSIVE, CONDITIONAL, COPYLEFT, NON_COMMERCIAL, NO_DERIVATIVES, UNKNOWN, MISSING)


@dataclass(frozen=True, slots=True)
class Licence:
    """One licence and what it allows derivatives to do."""

    id: str
    title: str
    klass: str
    commercial: bool | None  # commercial use allowed (None: not known)
    attribution: bool = False  # the licence / copyright notice must be kept
    notice: tuple[str, ...] = ()  # a visible notice derivatives must show (any one of these phrases)
    copyleft: bool = False

    @property
    def research_only(self) -> bool:
        return self.commercial is False


_QWEN_NOTICE = ("Built with Qwen", "Improved using Qwen")


def _spdx(klass: str, commercial: bool | None, attribution: bool = True, copyleft: bool = False,
          ids: str = "") -> list[Licence]:
    return [Licence(i, i, klass, commercial, attribution, (), copyleft) for i in ids.split()]


#: Every licence we know. Ids are the Hub's lower-case spellings (SPDX where one exists).
LICENCES: tuple[Licence, ...] = (
    *_spdx(PERMISSIVE, True, ids="apache-2.0 mit bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear isc afl-3.0 "
           "ecl-2.0 artistic-2.0 bsl-1.0 zlib postgresql ms-pl cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 odc-by"),
    *_spdx(PERMISSIVE, True, attribution=False, ids="cc0-1.0 unlicense wtfpl pddl"),
    *_spdx(COPYLEFT, True, copyleft=True, ids="gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 lgpl-lr agpl-3.0 "
           "mpl-2.0 epl-1.0 epl-2.0 eupl-1.1 eupl-1.2 osl-3.0 gfdl odbl cc-by-sa-3.0 cc-by-sa-4.0"),
    *_spdx(NON_COMMERCIAL, False, ids="cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0"),
    *_spdx(NON_COMMERCIAL, False, copyleft=True, ids="cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0"),
    *_spdx(NO_DERIVATIVES, False, ids="cc-by-nc-nd-3.0 cc-by-nc-nd-4.0"),
    *_spdx(NO_DERIVATIVES, True, ids="cc-by-nd-4.0"),
    *_spdx(CONDITIONAL, True, ids="openrail openrail++ creativeml-openrail-m bigscience-openrail-m "
           "bigcode-openrail-m bigscience-bloom-rail-1.0 llama2 gemma deepseek apple-ascl"),
    Licence("llama3", "Meta Llama 3 Community License", CONDITIONAL, True, True, ("Built with Meta Llama 3",)),
    *(Licence(i, f"{i} community license", CONDITIONAL, True, True, ("Built with Llama",))
      for i in ("llama3.1", "llama3.2", "llama3.3", "llama4")),
    # The Qwen family (hub-apis.md §4). Commercial use is allowed under conditions (a user cap), except the two
    # research licences; the 2024+ Qwen licences require derivatives to show "Built with Qwen".
    Licence("tongyi-qianwen", "Tongyi Qianwen License Agreement", CONDITIONAL, True, True),
    Licence("tongyi-qianwen-research", "Tongyi Qianwen Research License Agreement", NON_COMMERCIAL, False, True),
    Licence("qwen", "Qwen License Agreement", CONDITIONAL, True, True, _QWEN_NOTICE),
    Licence("qwen-research", "Qwen Research License Agreement", NON_COMMERCIAL, False, True, _QWEN_NOTICE),
    Licence("other", "other (terms not named)", UNKNOWN, None),
    Licence("unknown", "unknown", UNKNOWN, None),
    Licence("missing", "no licence declared", MISSING, None),
)
BY_ID: dict[str, Licence] = {lic.id: lic for lic in LICENCES}

#: Spellings (after :func:`spelling_key`) that are not already a licence id → the canonical id.
ALIASES: dict[str, str] = {
    # ModelScope and free-text spellings
    "apache-license-2.0": "apache-2.0", "apache-license-version-2.0": "apache-2.0", "apache-2": "apache-2.0",
    "apache2": "apache-2.0", "apache2.0": "apache-2.0", "apache": "apache-2.0", "apache-2.0-license": "apache-2.0",
    "mit-license": "mit", "the-mit-license": "mit", "gnu-gpl-v3": "gpl-3.0", "gplv3": "gpl-3.0",
    "gpl-3": "gpl-3.0", "gpl-v3": "gpl-3.0", "agpl-3": "agpl-3.0", "bsd-3": "bsd-3-clause",
    "bsd-3-clause-license": "bsd-3-clause", "cc-by-nc-4": "cc-by-nc-4.0", "cc-by-4": "cc-by-4.0",
    "llama-2": "llama2", "llama-3": "llama3", "llama-3.1": "llama3.1", "llama-3.2": "llama3.2",
    "llama-3.3": "llama3.3", "deepseek-license": "deepseek",
    # the Qwen licences under the names real cards use
    "tongyi-qianwen-license-agreement": "tongyi-qianwen", "tongyi-qianwen-license": "tongyi-qianwen",
    "tongyi-qianwen-licence": "tongyi-qianwen", "tongyi-qianwen-research-license-agreement":
        "tongyi-qianwen-research", "tongyi-qianwen-research-license": "tongyi-qianwen-research",
    "qwen-license": "qwen", "qwen-license-agreement": "qwen", "qwen-research-license": "qwen-research",
    "qwen-research-license-agreement": "qwen-research",
    # non-answers
    "": "missing", "none": "missing", "null": "missing", "n/a": "missing", "no-license": "missing",
    "unlicensed": "missing", "cc": "unknown", "custom": "other", "proprietary": "other",
}

#: ``license_link`` patterns that name a licence by themselves (checked after ``license_name``).
LINK_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"tongyi[ _-]?qianwen[ _-]?research", re.IGNORECASE), "tongyi-qianwen-research"),
    (re.compile(r"tongyi[ _-]?qianwen[ _-]?licen[cs]e", re.IGNORECASE), "tongyi-qianwen"),
    (re.compile(r"llama\.meta\.com/llama3/license|Meta-Llama-3-\d+B", re.IGNORECASE), "llama3"),
    (re.compile(r"apache\.org/licenses/LICENSE-2\.0", re.IGNORECASE), "apache-2.0"),
    (re.compile(r"opensource\.org/licenses/MIT", re.IGNORECASE), "mit"),
)
_HUB_LICENCE_FILE = re.compile(
    r"^https?://(?:www\.)?(?:huggingface\.co|hf\.co|modelscope\.cn/models)/([\w.\-]+/[\w.\-]+)/(?:blob|resolve|raw|file/view)/",
    re.IGNORECASE)


def spelling_key(value: str) -> str:
    """A licence spelling folded for lookup: lower case, blanks and underscores as ``-``, no ``license:`` prefix."""
    key = re.sub(r"[\s_]+", "-", value.strip().lower())
    return key.removeprefix("license:").strip("-")


def canonical(value: str | None) -> str | None:
    """The licence id one spelling names, ``"missing"`` for an empty value, None when the spelling is not known."""
    if value is None:
        return "missing"
    key = spelling_key(value)
    if key in BY_ID:
        return key
    if key in ALIASES:
        return ALIASES[key]
    for suffix in ("-license", "-licence"):
        if key.endswith(suffix) and key[: -len(suffix)] in BY_ID:
            return key[: -len(suffix)]
    return None


def normalise_licence(license: str | None, license_name: str | None = None,
                      license_link: str | None = None) -> str:
    """One canonical licence id from a model's ``license`` / ``license_name`` / ``license_link``.

    ``license: other`` (or no licence) defers to ``license_name``, then to a ``license_link`` that names a
    licence. An unrecognised spelling is ``"unknown"``; ``"other"`` with nothing more is ``"other"``.
    """
    main = canonical(license)
    if main not in (None, "other", "missing"):
        return main
    for extra in (license_name, license_link):
        if not isinstance(extra, str) or not extra.strip():
            continue
        named = canonical(extra) if extra is license_name else licence_from_link(extra)
        if named not in (None, "missing", "other", "unknown"):
            return named
    if main is None:
        return "unknown"
    return main


def licence_from_link(link: str) -> str | None:
    """The licence a ``license_link`` names by itself (e.g. the Tongyi Qianwen agreement), else None."""
    text = unquote(link)
    return next((lic for pattern, lic in LINK_PATTERNS if pattern.search(text)), None)


def link_repo(link: str | None) -> str | None:
    """The ``owner/name`` whose licence file a hub ``license_link`` points at, else None."""
    if not isinstance(link, str):
        return None
    m = _HUB_LICENCE_FILE.match(link.strip())
    return m.group(1) if m else None


def info(licence_id: str) -> Licence:
    """The properties of a canonical licence id (unknown ids get the ``unknown`` row)."""
    return BY_ID.get(licence_id, BY_ID["unknown"])


def licence_class(licence_id: str) -> str:
    """The class of a canonical licence id (see the module docstring)."""
    return info(licence_id).klass


def has_notice(text: str, licence_id: str) -> bool | None:
    """Whether ``text`` shows the notice the licence requires; None when the licence requires none."""
    phrases = info(licence_id).notice
    if not phrases:
        return None
    folded = " ".join(text.lower().split())
    return any(p.lower() in folded for p in phrases)
