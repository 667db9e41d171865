"""Gemma 4 (dense, google/gemma-4-31B-it): full-attention layers with their own shapes.

Independent sources, none of them our own output:

* the checkpoint: gogongxt/python's model-inspector report of gemma-4-31B-it (tensor table summed in
  tests/data/components.toml: language model 30,697,345,340 elements; full-attention layers have
  k_proj [2048, 5376] and no v_proj, sliding layers k_proj/v_proj [4096, 5376]);
* vLLM's gemma4.py (vllm-project/vllm, vllm/model_executor/models/gemma4.py): a full-attention
  layer uses ``global_head_dim`` and, with ``attention_k_eq_v``, ``num_global_key_value_heads``;
  ``QKVParallelLinear`` keeps a V slot into which K is loaded, and ``Attention`` caches K and V;
* vLLM's kv_cache_utils.py ``unify_kv_cache_spec_page_size``: a smaller page gets block_size ×
  (max page ÷ its page).

The expected numbers below are derived here from the config's fields by those rules, written out
by hand, not copied from the calculators.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from calculators import forms, hardware, memory, models, params, roofline, vllm
from calculators.errors import CalcError

MODEL = "google/gemma-4-31B-it"


def _text() -> dict[str, Any]:
    return dict(models.preset_record(MODEL)["config"]["text_config"])


def test_config_facts_the_rules_use() -> None:
    t = _text()
    assert (t["hidden_size"], t["num_attention_heads"], t["num_key_value_heads"], t["head_dim"]) == (5376, 32, 16, 256)
    assert (t["num_global_key_value_heads"], t["global_head_dim"], t["attention_k_eq_v"]) == (4, 512, True)
    assert t["layer_types"].count("full_attention") == 10 and t["sliding_window"] == 1024


def test_parameters_equal_the_checkpoint_language_model() -> None:
    # 31,273,088,876 checkpoint elements − 575,743,536 vision tower (components.toml)
    assert params.count_params(models.load_preset(MODEL)).total == 30_697_345_340


def test_kv_bytes_per_token_by_vllms_rule() -> None:
    spec = models.load_preset(MODEL)
    sliding = 2 * 16 * 256 * 2  # K and V × 16 KV heads × head_dim 256 × bf16
    full = 2 * 4 * 512 * 2  # K and V (K loaded into both) × 4 global KV heads × 512 × bf16
    assert memory.kv_bytes_per_token(spec) == 50 * sliding + 10 * full == 901_120
    # at TP 8 the 4 global KV heads are replicated (one per GPU), the 16 sliding ones split
    assert memory.kv_bytes_per_token(spec, tp=8) == 50 * 2 * 2 * 256 * 2 + 10 * 2 * 1 * 512 * 2
    # one sequence of 4,096 tokens: sliding layers keep 1,024 tokens, full layers all 4,096
    assert memory.kv_bytes_per_sequence(spec, 4096) == 50 * 1024 * sliding + 10 * 4096 * full


def test_weights_hold_vllms_v_slot() -> None:
    spec = models.load_preset(MODEL)
    w1 = memory.weights_memory(spec, tp=1)
    assert w1.bytes_total == 30_697_345_340 * 2  # the checkpoint, bf16
    v_slot = 10 * 4 * 512 * 5376 * 2  # full layers: a V slot of K's shape, loaded with K
    assert w1.bytes_per_gpu == w1.bytes_total + v_slot


def test_vllm_unifies_pages_with_a_larger_block_for_full_layers() -> None:
    spec = models.load_preset(MODEL)
    fit = vllm.fit(spec, hardware.get_gpu("h100-sxm"), max_model_len=32768, available_kv_cache_gib=20.0)
    # page = 16 tokens × 16,384 B (a sliding layer); a full layer holds 8,192 B per token → block 32
    assert fit.page_size_bytes == 16 * 16384
    full = [g for g in fit.kv_groups if g.window is None]
    sliding = [g for g in fit.kv_groups if g.window == 1024]
    assert len(full) == 1 and full[0].block_size == 32
    assert len(sliding) == 5 and all(g.block_size in (0, 16) for g in sliding)
    assert fit.group_size == 10  # 50 sliding and 10 full layers: groups of the smaller count
    blocks = 20 * 2**30 // (16 * 16384 * 10)
    assert fit.num_gpu_blocks == blocks
    per_request = 32768 // 32 + 5 * (-(-min(1023 + 8192, 32768) // 16) + 1)
    assert fit.max_concurrency == pytest.approx(blocks / per_request)


def test_tp_must_divide_both_kv_head_counts() -> None:
    spec = models.load_preset(MODEL)
    params.check_tp(spec, 8)  # 16 and 4 KV heads: split and replicated
    with pytest.raises(CalcError):
        params.check_tp(spec, 3)


def test_roofline_uses_each_layer_kinds_head_dim() -> None:
    spec = models.load_preset(MODEL)
    a = roofline.attention_cost(spec, 1, 1.0, 4095.0, 1.0)
    # decode of one token after 4,095: full layers see 4,096 keys, sliding ones 1,024
    flops = 10 * 4 * 32 * 512 * 4096 + 50 * 4 * 32 * 256 * 1024
    assert a.attention_flops == pytest.approx(flops)


@pytest.mark.parametrize(
    ("key", "value"),
    [("enable_moe_block", True), ("num_kv_shared_layers", 20), ("hidden_size_per_layer_input", 256),
     ("use_double_wide_mlp", True)],
)
def test_gemma4_variants_we_do_not_model_are_refused(key: str, value: Any) -> None:
    config = copy.deepcopy(models.preset_record(MODEL)["config"])
    config["text_config"][key] = value
    with pytest.raises(CalcError) as err:
        models.spec_from_config(config)
    assert err.value.field == key


def test_every_calculator_answers_and_the_page_shows_the_full_layer_shapes() -> None:
    out = forms.run("kv", {"model": MODEL})
    assert (out["full_attention_num_kv_heads"], out["full_attention_head_dim"]) == (4, 512)
    assert out["full_attention_bytes_per_token_per_layer"] == 8192
    assert forms.run("kv", {"model": "google/gemma-3-27b-it"})["full_attention_head_dim"] is None
