"""``builtin:synth-clip``: a tiny transformers CLIP model and word-level tokenizer trained by chronolens."""

from chronolens.models.synth_clip.artifact import save_artifact
from chronolens.models.synth_clip.config import SynthClipConfig, build_clip_config, build_clip_model
from chronolens.models.synth_clip.tokenizer import build_tokenizer, caption_words

__all__ = [
    "SynthClipConfig",
    "build_clip_config",
    "build_clip_model",
    "build_tokenizer",
    "caption_words",
    "save_artifact",
]
