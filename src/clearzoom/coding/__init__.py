"""Semantic coding (SDComp, arXiv 2408.08575): ``.czp`` files whose small base layer clearzoom
restores at any scale, and whose regions arrive in order of importance (docs/coding.md)."""

from .api import Plan, decode_czp, encode_czp, parse_bytes, plan_regions
from .container import FORMAT_VERSION, Container, Layer, pack, parse
from .decoder import DecodeReport, decode
from .encoder import Encoded, Qualities, encode
from .regions import RULES, Region, load_grounding, parse_roi, prompt_labels, rank_regions

__all__ = [
    "FORMAT_VERSION",
    "RULES",
    "Container",
    "DecodeReport",
    "Encoded",
    "Layer",
    "Plan",
    "Qualities",
    "Region",
    "decode",
    "decode_czp",
    "encode",
    "encode_czp",
    "load_grounding",
    "pack",
    "parse",
    "parse_bytes",
    "parse_roi",
    "plan_regions",
    "prompt_labels",
    "rank_regions",
]
