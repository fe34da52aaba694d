"""Per-frame prompts for LTX-2 in one forward pass, without a dense attention bias: the same
idea as engine.generate.backends.ltx_attention, for both streams' text cross-attention.

Every prompt's context sits in its own slot of the concatenated text; each run of video (or
audio) tokens under one prompt attends to that prompt's slot only. Equal to an additive bias of
-10000 outside a token's own prompt (exp(-10000) is 0 in float32), at the cost of one prompt
per token instead of all of them, and with no (tokens x text) mask in memory.
"""

from __future__ import annotations


def _segmented_processor_class():
    from diffusers.models.attention_dispatch import dispatch_attention_fn
    from diffusers.models.transformers.transformer_ltx2 import LTX2AudioVideoAttnProcessor

    class PromptSegmentedLTX2Processor(LTX2AudioVideoAttnProcessor):
        """Text cross-attention where tokens [q0, q1) only read text tokens [t0, t1)."""

        def __init__(self) -> None:
            super().__init__()
            self.segments: list[tuple[int, int, int, int]] | None = None

        def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                     query_rotary_emb=None, key_rotary_emb=None):
            if self.segments is None or encoder_hidden_states is None or query_rotary_emb is not None:
                return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, query_rotary_emb,
                                        key_rotary_emb)
            import torch

            batch_size, text_length, _ = encoder_hidden_states.shape
            if attention_mask is not None:
                attention_mask = attn.prepare_attention_mask(attention_mask, text_length, batch_size)
                attention_mask = attention_mask.view(batch_size, attn.heads, -1, attention_mask.shape[-1])
            gate_logits = attn.to_gate_logits(hidden_states) if attn.to_gate_logits is not None else None
            query = attn.norm_q(attn.to_q(hidden_states)).unflatten(2, (attn.heads, -1))
            key = attn.norm_k(attn.to_k(encoder_hidden_states)).unflatten(2, (attn.heads, -1))
            value = attn.to_v(encoder_hidden_states).unflatten(2, (attn.heads, -1))
            out = query.new_empty(query.shape)
            for q0, q1, t0, t1 in self.segments:
                mask = None if attention_mask is None else attention_mask[..., t0:t1]
                out[:, q0:q1] = dispatch_attention_fn(query[:, q0:q1], key[:, t0:t1], value[:, t0:t1], attn_mask=mask,
                                                      dropout_p=0.0, is_causal=False, backend=self._attention_backend)
            if gate_logits is not None:
                out = out * (2.0 * torch.sigmoid(gate_logits)).unsqueeze(-1)
            hidden_states = out.flatten(2, 3).to(query.dtype)
            return attn.to_out[1](attn.to_out[0](hidden_states))

    return PromptSegmentedLTX2Processor


def install(transformer) -> tuple[list, list]:
    """Segmented processors on every block's video and audio text cross-attention; returns them
    (video, audio), segments unset: a no-op until a storyboard sets them."""
    cls = _segmented_processor_class()
    video, audio = [], []
    for block in transformer.transformer_blocks:
        for module, found in ((block.attn2, video), (block.audio_attn2, audio)):
            processor = cls()
            module.set_processor(processor)
            found.append(processor)
    return video, audio
