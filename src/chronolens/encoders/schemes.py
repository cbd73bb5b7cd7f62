"""The builders behind each encoder scheme, registered explicitly.

Importing this module fills ``chronolens.encoders.registry``; ``chronolens.encoders`` does so.
Heavy modules (torch, transformers) are imported inside the builders, so listing names is cheap.
"""

from __future__ import annotations

from chronolens.encoders.base import Encoder
from chronolens.encoders.builtin import BUILTIN_MODELS, builtin_directory, is_built
from chronolens.encoders.registry import EncoderEntry, LoadOptions, register_scheme
from chronolens.errors import MissingDependencyError, ModelNotFoundError

__all__ = ["build_builtin", "build_hf", "build_openclip", "build_st", "build_timesformer", "build_xclip"]


@register_scheme(
    "hf",
    usage="hf:<hub id or local dir>",
    description="transformers CLIP / SigLIP from the Hugging Face cache or a save_pretrained directory",
)
def build_hf(ref: str, options: LoadOptions) -> Encoder:
    """Load ``hf:<ref>`` through transformers; X-CLIP and TimeSformer dirs load as their own schemes do."""
    from chronolens.encoders.hf import load_hf_encoder
    from chronolens.encoders.xclip import XCLIP_MODEL_TYPE, load_xclip_encoder, local_model_type

    model_type = local_model_type(ref)
    if model_type == "timesformer":
        from chronolens.encoders.timesformer import load_timesformer_encoder

        return load_timesformer_encoder(
            ref,
            name=f"hf:{ref}",
            device=options.device,
            precision=options.precision,
            batch_size=options.batch_size,
        )
    if model_type == XCLIP_MODEL_TYPE:
        return load_xclip_encoder(
            ref,
            name=f"hf:{ref}",
            device=options.device,
            precision=options.precision,
            batch_size=options.batch_size,
        )

    return load_hf_encoder(
        ref,
        device=options.device,
        precision=options.precision,
        batch_size=options.batch_size,
        compile=options.compile,
    )


def _list_builtins() -> list[EncoderEntry]:
    return [
        EncoderEntry(
            name=f"builtin:{model.name}",
            description=model.description if is_built(model) else f"{model.description} (not built yet)",
            available=is_built(model),
        )
        for model in BUILTIN_MODELS.values()
    ]


@register_scheme(
    "builtin",
    usage="builtin:<name>",
    description="weights shipped inside chronolens (listed below)",
    lister=_list_builtins,
)
def build_builtin(ref: str, options: LoadOptions) -> Encoder:
    """Load a packaged model: text-first (numpy text tower, image side on first use) when it can.

    A CLIP checkpoint the numpy text tower runs becomes a ``TextFirstEncoder``, so a query never
    imports torch; anything else loads through the transformers loader as ``hf:<dir>`` does.
    """
    from chronolens.encoders.clip_text import supports

    directory = builtin_directory(ref)
    if supports(directory):
        from chronolens.encoders.text_first import TextFirstEncoder

        return TextFirstEncoder(
            name=f"builtin:{ref}",
            directory=directory,
            device=options.device,
            precision=options.precision,
            batch_size=options.batch_size,
            compile=options.compile,
        )
    from chronolens.encoders.hf import load_hf_encoder

    return load_hf_encoder(
        str(directory),
        name=f"builtin:{ref}",
        device=options.device,
        precision=options.precision,
        batch_size=options.batch_size,
        compile=options.compile,
    )


_OPENCLIP_REASON = (
    "open_clip_torch (3.3) hard-requires torchvision, which has no CPU build on this platform's package index"
)


@register_scheme(
    "openclip",
    usage="openclip:<arch>/<tag>",
    description=f"open_clip models: not supported yet ({_OPENCLIP_REASON})",
    available=False,
)
def build_openclip(ref: str, options: LoadOptions) -> Encoder:
    """``openclip:<arch>/<tag>`` is not supported yet.

    open_clip_torch declares ``torchvision`` as a hard requirement and imports it at module level
    (``open_clip/transform.py``, ``open_clip/utils.py``); there is no CPU torchvision wheel for the
    pinned torch here. Most open_clip checkpoints on the hub (the LAION ones) also ship a
    transformers-format copy, loadable as ``hf:<id>``.

    Raises:
        ModelNotFoundError: malformed name (not ``<arch>/<tag>``).
        MissingDependencyError: always otherwise, with the reason and the alternative.
    """
    arch, _, tag = ref.partition("/")
    if not arch or not tag:
        raise ModelNotFoundError(
            f"openclip:{ref}: expected openclip:<arch>/<tag>, e.g. openclip:ViT-B-32/laion2b_s34b_b79k"
        )
    raise MissingDependencyError(
        f"openclip:{ref} is not supported yet: {_OPENCLIP_REASON}; use a transformers-format copy "
        f"instead, e.g. hf:laion/CLIP-ViT-B-32-laion2B-s34B-b79K"
    )


@register_scheme(
    "st",
    usage="st:<local dir or hub id>",
    description="sentence-transformers text encoders (text only: --text-encoder of spoken-word search)",
)
def build_st(ref: str, options: LoadOptions) -> Encoder:
    """Load ``st:<ref>`` (see ``chronolens.encoders.sentence``)."""
    from chronolens.encoders.sentence import load_sentence_encoder

    # Text only: it satisfies the encoder contract's text side; encode_images raises.
    return load_sentence_encoder(ref, device=options.device, batch_size=options.batch_size)


@register_scheme(
    "xclip",
    usage="xclip:<hub id or local dir>",
    description="X-CLIP video-text clip encoders via transformers, e.g. xclip:microsoft/xclip-base-patch32",
)
def build_xclip(ref: str, options: LoadOptions) -> Encoder:
    """Load ``xclip:<ref>`` (see ``chronolens.encoders.xclip``); it is also a ``ClipEncoder``."""
    from chronolens.encoders.xclip import load_xclip_encoder

    return load_xclip_encoder(
        ref, device=options.device, precision=options.precision, batch_size=options.batch_size
    )


@register_scheme(
    "timesformer",
    usage="timesformer:<hub id or local dir>",
    description="TimeSformer video backbones via transformers (clip embeddings only, no text tower)",
)
def build_timesformer(ref: str, options: LoadOptions) -> Encoder:
    """Load ``timesformer:<ref>`` (see ``chronolens.encoders.timesformer``): video only."""
    from chronolens.encoders.timesformer import load_timesformer_encoder

    return load_timesformer_encoder(
        ref, device=options.device, precision=options.precision, batch_size=options.batch_size
    )
