"""Semantic codec of the official size: MaskGCT RepCodec (factorized VQ over w2v-BERT features)."""

from voxsmith.models.semantic_codec.backbone import VocosBackbone
from voxsmith.models.semantic_codec.config import RepCodecConfig
from voxsmith.models.semantic_codec.quantizer import FactorizedVQ, ResidualVQ
from voxsmith.models.semantic_codec.repcodec import RepCodec

__all__ = ["FactorizedVQ", "RepCodec", "RepCodecConfig", "ResidualVQ", "VocosBackbone"]
