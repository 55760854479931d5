"""What a sentence asks for: restoration tasks with strengths, and the output geometry.

``parse_prompt("make it 3.5x bigger and remove the grain but keep it sharp")`` ->
``{"tasks": {"noise": 1.0}, "auto": False, "scale": 3.5, ...}``.

Offline and rule-based (no model can be downloaded): a lexicon of task words with fuzzy matching
for typos, negation by clause ("keep the grain", "don't sharpen", "without noise reduction"),
intensity words ("a little" -> 0.5), and geometry from digits or number words ("×2", "200%",
"double", "3.5 times", "1920x1080", "3000 px wide", "1080p"). The word lists were written from what
the tasks mean, not from a list of phrasings; ``../shared/data/prompts`` holds labelled
development phrasings, and ``tests/test_prompt.py`` phrasings of our own.

``auto`` is true when the text names no task but asks for some improvement ("make it better",
"restore it") or asks for nothing at all: the image analysis then chooses the tasks. A text that
names tasks only to refuse them ("leave the noise alone") is not ``auto``, and neither is one that
only asks for a larger image ("upscale", "make it bigger"). Negation by "no"/"without" of a defect
asks for its removal ("no noise", "without any artifacts"); of an action or a verb it refuses the
task ("no denoising", "without losing sharpness"). A request
that only names a size ("upscale 4x", "keep the grain and make it 2x") is ``auto: False`` with no
task: enlarge only.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TASKS", "Prompt", "parse_prompt"]

TASKS = ("jpeg", "noise", "blur")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# task words, by whole token (fuzzy-matched when 5+ letters) and by phrase (exact)
_TASK_WORDS: dict[str, tuple[str, ...]] = {
    "jpeg": _words("""jpeg jpg jpegs jpgs compression compressed compress recompressed artifacts artefacts
        artifact artefact blocky blocks block blockiness blocking deblock deblocking macroblocks
        macroblocking lossy mosquito ringing webp pixelation pixelated banding"""),
    "noise": _words("""noise noisy noises denoise denoising denoised grain grainy grains graininess iso
        speckle speckles speckled static sensor degrain"""),
    "blur": _words("""blur blurry blurred blurriness deblur deblurring unblur sharpen sharpening sharper
        sharp sharpness crisp crisper crispen focus unfocused defocus defocused soft softness fuzzy shake
        shaky shook shaking motion smeared smudged hazy"""),
}
_TASK_PHRASES: dict[str, tuple[str, ...]] = {
    "jpeg": ("saved as jpg", "saved as jpeg", "low quality jpeg", "too many times", "chat app", "whatsapp"),
    "noise": ("film grain", "high iso", "low light", "dark parts"),
    "blur": ("out of focus", "not in focus", "camera shake", "moved the camera", "hands shook", "not sharp"),
}
_IMPROVE = _words("""better improve improved enhance enhanced restore restored repair fix clean cleanup
    clearer clear nicer quality clarity good beautify retouch remaster polish best""")
_NEGATORS = _words("keep preserve leave retain without dont don't not no never avoid skip like love")
_LIKERS = _words("i we you they really still do actually")
_VERBS = _words("lose remove change touch affect reduce add alter do make")
# words that name the restoration itself (refused by any negation), not the defect it removes
_ACTIONS = _words("denoise denoised deblock deblur unblur sharpen crispen degrain")
# asking for a larger image (and nothing else) is a request: enlarge only, not "auto"
_ENLARGE = _words(
    "upscale upscaled upscaling enlarge enlarged enlarging bigger larger magnify zoom resize upsample"
)
_MILD = _words("little bit slightly slight light lightly mild mildly gentle gently subtle touch somewhat")
_CLAUSE = re.compile(r"[,;.!?]|\b(?:but|and|then|also|while|though|although|however|plus)\b")

_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        _words("""zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
        fifteen sixteen seventeen eighteen nineteen twenty""")
    )
} | {w: 10 * i for i, w in enumerate(_words("thirty forty fifty sixty seventy eighty ninety"), start=3)}
_MULTIPLIERS = {"double": 2.0, "doubled": 2.0, "twice": 2.0, "triple": 3.0, "tripled": 3.0, "thrice": 3.0}
_MULTIPLIERS |= {"quadruple": 4.0, "quadrupled": 4.0, "halve": 0.5, "half": 0.5}
_SAME_SIZE = re.compile(
    r"\b(?:same size|original size|(?:do not|don't|dont|no|without) (?:resiz\w*|enlarg\w*|upscal\w*|scal\w*"
    r"|chang\w* the size)|keep (?:the|its) (?:size|dimensions|resolution))\b"
)
_NUM = r"(\d+(?:\.\d+)?)"
_HEIGHT_P = {"480p": 480, "720p": 720, "1080p": 1080, "1440p": 1440, "2160p": 2160, "4320p": 4320}
_HEIGHT_P |= {"4k": 2160, "8k": 4320}


@dataclass
class Prompt:
    """A parsed request: tasks with strengths (0..1), ``auto``, and the geometry asked for."""

    tasks: dict[str, float] = field(default_factory=dict)
    auto: bool = False
    scale: float | None = None
    size: tuple[int, int] | None = None
    width: int | None = None
    height: int | None = None
    matched: dict[str, list[str]] = field(default_factory=dict)  # task -> the words that named it
    refused: tuple[str, ...] = ()  # tasks the text asks not to do ("keep the grain": noise)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": dict(self.tasks),
            "auto": self.auto,
            "scale": self.scale,
            "size": list(self.size) if self.size else None,
            "width": self.width,
            "height": self.height,
        }


def _words_to_digits(text: str) -> str:
    """Number words to digits: "two and a half" -> "2.5", "three thousand" -> "3000"."""
    text = re.sub(
        r"\b(\w+) and a half\b", lambda m: f"{_NUMBER_WORDS[m[1]]}.5" if m[1] in _NUMBER_WORDS else m[0], text
    )
    text = re.sub(r"\bone and a half\b", "1.5", text)

    def compound(m: re.Match) -> str:
        total, current = 0, 0
        for w in m[0].replace("-", " ").split():
            if w in _NUMBER_WORDS:
                current += _NUMBER_WORDS[w]
            elif w == "hundred":
                current = max(current, 1) * 100
            elif w == "thousand":
                total += max(current, 1) * 1000
                current = 0
        return str(total + current)

    words = "|".join(list(_NUMBER_WORDS) + ["hundred", "thousand"])
    return re.sub(rf"\b(?:{words})(?:[ -](?:{words}))*\b", compound, text)


def _normalise(text: str) -> str:
    t = text.lower().replace("×", "x").replace("’", "'").replace("n't", " not").replace("%", " percent")
    t = re.sub(r"(\d),(\d{3})\b", r"\1\2", t)  # 1,920 -> 1920
    return _words_to_digits(t)


def _geometry(t: str, p: Prompt) -> str:
    """Fill ``p``'s geometry from ``t``; returns ``t`` with the geometry removed (so its numbers
    are not read twice)."""
    m = re.search(r"\b(\d{2,5})\s*(?:x|by|\*)\s*(\d{2,5})\b(?:\s*(?:px|pixels?))?", t)
    if m and int(m[1]) >= 16 and int(m[2]) >= 16:
        p.size = (int(m[1]), int(m[2]))
        return t[: m.start()] + " " + t[m.end() :]
    for name, value in _HEIGHT_P.items():
        if re.search(rf"\b{name}\b", t):
            p.height = value
            return re.sub(rf"\b{name}\b", " ", t)
    px = r"\s*(?:px|pixels?|pixel)?\s*"
    m = re.search(rf"\b{_NUM}{px}(?:wide|width|across|in width)\b|\bwidth(?: of| to| =|:)?\s*{_NUM}\b", t)
    if m:
        p.width = int(float(m[1] or m[2]))
    m = re.search(rf"\b{_NUM}{px}(?:high|tall|height|in height)\b|\bheight(?: of| to| =|:)?\s*{_NUM}\b", t)
    if m:
        p.height = int(float(m[1] or m[2]))
    if p.width or p.height:
        return t
    if _SAME_SIZE.search(t):
        p.scale = 1.0
        return _SAME_SIZE.sub(" ", t)
    p.scale = _scale(t)
    return t


def _scale(t: str) -> float | None:
    m = re.search(rf"\b{_NUM}\s*percent\s*(?:bigger|larger)\b", t)
    if m:
        v = float(m[1]) / 100
        return v if v >= 1 else 1 + v
    verbs = r"(?:upscale|enlarge|magnify|zoom|scale|upsample|resize|blow up)\w*"
    for pattern, unit in (
        (rf"\bx\s*{_NUM}\b", 1),
        (rf"\b{_NUM}\s*x\b", 1),
        (rf"\b{_NUM}\s*(?:times|fold)\b", 1),
        (rf"\b{_NUM}\s*percent\b", 100),
        (
            rf"\b(?:by|factor(?: of)?|scale(?: of)?|to)\s+(?:a factor of\s+)?{_NUM}\b(?!\s*(?:px|pix|per))",
            1,
        ),
        (rf"\b{verbs}\s+(?:it\s+|this\s+|the image\s+)?{_NUM}\b", 1),
    ):
        m = re.search(pattern, t)
        if m:
            v = float(m[1]) / unit
            if 0 < v <= 64:
                return v
    for word, v in _MULTIPLIERS.items():
        if re.search(rf"\b{word}\b", t):
            return v
    return None


def _fuzzy(token: str, vocabulary: tuple[str, ...]) -> bool:
    if token in vocabulary:
        return True
    if len(token) < 5:
        return False
    return bool(difflib.get_close_matches(token, [w for w in vocabulary if len(w) >= 4], n=1, cutoff=0.8))


def _refuses(tokens: list[str], cue: int | None, i: int) -> bool:
    """Whether the negation at ``cue`` refuses the task word at ``i``. "no noise" and "without any
    artifacts" ask for the result to be free of them (the task is wanted); "keep the grain",
    "don't sharpen" and "without losing sharpness" refuse it (a verb or a keep-word is negated)."""
    if cue is None or i - cue > 5:
        return False
    between = tokens[cue + 1 : i]
    verb = any(t.endswith("ing") or t in _VERBS for t in between)
    action = tokens[i] in _ACTIONS or tokens[i].endswith("ing")  # "without blurring it"
    if tokens[cue] in ("no", "without"):
        return verb or action
    if tokens[cue] in ("like", "love"):  # "I like the grain"; but "I'd like you to remove the grain"
        return not (verb or action)
    return True


def _clause_tasks(clause: str) -> tuple[dict[str, float], list[tuple[str, str]], bool]:
    """Tasks asked for in one clause (strength per task), the words matched, and whether the
    clause asks for improvement in general."""
    tokens = re.findall(r"[a-z']+", clause)
    found: dict[str, float] = {}
    words: list[tuple[str, str]] = []
    strength = 0.5 if any(t in _MILD for t in tokens) else 1.0
    negated_from = None
    for i, tok in enumerate(tokens):
        liking = tok in ("like", "love") and i > 0 and tokens[i - 1] in _LIKERS  # not "dust-like"
        if (tok in _NEGATORS and tok not in ("like", "love") or liking) and negated_from is None:
            negated_from = i
        for task, vocab in _TASK_WORDS.items():
            if _fuzzy(tok, vocab):
                if _refuses(tokens, negated_from, i):
                    found.setdefault(task, 0.0)
                else:
                    found[task] = max(found.get(task, 0.0), strength)
                words.append((task, tok))
    for task, phrases in _TASK_PHRASES.items():
        for ph in phrases:
            if ph in clause and task not in found:
                found[task] = strength
                words.append((task, ph))
    improve = any(t in _IMPROVE for t in tokens)
    return found, words, improve


def _asks_to_enlarge(text: str) -> bool:
    return any(t in _ENLARGE for t in re.findall(r"[a-z]+", text)) or "blow up" in text


def parse_prompt(text: str) -> Prompt:
    """Parse a request (see the module); never raises on any text."""
    p = Prompt()
    t = _normalise(str(text))
    t = _geometry(t, p)
    improve = False
    for clause in _CLAUSE.split(t):
        found, words, imp = _clause_tasks(clause or "")
        improve |= imp
        for task, s in found.items():
            if s > 0:
                p.tasks[task] = max(p.tasks.get(task, 0.0), s)
            else:
                p.tasks.setdefault(task, 0.0)  # refused, unless another clause asks for it
        for task, w in words:
            p.matched.setdefault(task, []).append(w)
    p.refused = tuple(k for k, v in p.tasks.items() if v == 0)
    p.tasks = {k: v for k, v in p.tasks.items() if v > 0}
    geometry = p.scale is not None or p.size is not None or p.width is not None or p.height is not None
    nothing = not geometry and not _asks_to_enlarge(t)
    # a request that names tasks only to refuse them ("leave the noise alone") is not a blank
    # cheque for the analysis, which might pick the refused task
    p.auto = not p.tasks and not p.refused and (improve or nothing)
    return p
