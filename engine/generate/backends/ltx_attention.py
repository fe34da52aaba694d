"""Per-frame prompts for LTX-Video in one forward pass, without a dense attention bias.

All prompts are encoded once and concatenated. Video tokens are frame-major and every latent
frame follows one prompt, so the tokens split into runs that each read one prompt's text: the
cross-attention of a run is computed against that prompt's text tokens only. This is the same
result as an additive bias of -10000 outside a token's own prompt (exp(-10000) is 0 in float32),
at the cost of one prompt per token instead of all of them, and with no (tokens x text) mask.
"""

from __future__ import annotations


def _segmented_processor_class():
    from diffusers.models.attention_dispatch import dispatch_attention_fn
    from diffusers.models.transformers.transformer_ltx import LTXVideoAttnProcessor

    class PromptSegmentedAttnProcessor(LTXVideoAttnProcessor):
        """Cross-attention where video tokens [q0, q1) only read text tokens [t0, t1)."""

        def __init__(self) -> None:
            super().__init__()
            self.segments: list[tuple[int, int, int, int]] | None = None

        def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                     image_rotary_emb=None):
            if self.segments is None or encoder_hidden_states is None:
                return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, image_rotary_emb)
            batch_size, text_length, _ = encoder_hidden_states.shape
            if attention_mask is not None:
                attention_mask = attn.prepare_attention_mask(attention_mask, text_length, batch_size)
                attention_mask = attention_mask.view(batch_size, attn.heads, -1, attention_mask.shape[-1])
            query = attn.norm_q(attn.to_q(hidden_states)).unflatten(2, (attn.heads, -1))
            key = attn.norm_k(attn.to_k(encoder_hidden_states)).unflatten(2, (attn.heads, -1))
            value = attn.to_v(encoder_hidden_states).unflatten(2, (attn.heads, -1))
            out = query.new_empty(query.shape)
            for q0, q1, t0, t1 in self.segments:
                mask = None if attention_mask is None else attention_mask[..., t0:t1]
                out[:, q0:q1] = dispatch_attention_fn(query[:, q0:q1], key[:, t0:t1], value[:, t0:t1], attn_mask=mask,
                                                      dropout_p=0.0, is_causal=False, backend=self._attention_backend)
            hidden_states = out.flatten(2, 3).to(query.dtype)
            return attn.to_out[1](attn.to_out[0](hidden_states))

    return PromptSegmentedAttnProcessor


def install(transformer) -> list:
    """Give every block's cross-attention a segmented processor; returns them (segments unset: a no-op)."""
    cls = _segmented_processor_class()
    processors = []
    for block in transformer.transformer_blocks:
        processor = cls()
        block.attn2.set_processor(processor)
        processors.append(processor)
    return processors


def segments(token_prompt, text_slot) -> list[tuple[int, int, int, int]]:
    """(video start, video stop, text start, text stop) for each run of tokens under one prompt.

    `token_prompt` (tokens,) is the prompt of each video token; `text_slot` (text,) the prompt each
    text token belongs to, in contiguous slots."""
    import torch

    starts = torch.searchsorted(text_slot, torch.arange(int(text_slot.max()) + 2, device=text_slot.device))
    change = torch.nonzero(token_prompt[1:] != token_prompt[:-1]).flatten() + 1
    bounds = [0, *change.tolist(), len(token_prompt)]
    out = []
    for q0, q1 in zip(bounds[:-1], bounds[1:], strict=True):
        p = int(token_prompt[q0])
        out.append((q0, q1, int(starts[p]), int(starts[p + 1])))
    return out
