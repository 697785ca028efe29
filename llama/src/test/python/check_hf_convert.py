#!/usr/bin/env python3
"""Independent check of `nanscope convert` output with numpy only (no nanscope code).

Usage: python3 check_hf_convert.py HF_DIR LLAMA2C_BIN

Reads the llama2.c legacy-v0 checkpoint with numpy, applies the q/k permutation exactly as
transformers' convert_llama_weights_to_hf.py writes it
    w.view(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2)
and compares every tensor of HF_DIR/model.safetensors (F32 bit-exact; F16 against numpy's
float16 rounding). Prints one line per failure and a summary; exit code 1 on any mismatch.
"""
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, t = e["data_offsets"]
        dt = {"F32": "<f4", "F16": "<f2"}[e["dtype"]]
        out[name] = np.frombuffer(data[b:t], dtype=dt).reshape(e["shape"])
    return out


def read_llama2c(path):
    raw = open(path, "rb").read()
    dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack("<7i", raw[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    f = np.frombuffer(raw[28:], dtype="<f4")
    hd = dim // heads
    kv = kv_heads * hd
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        a = f[pos : pos + n].reshape(shape)
        pos += n
        return a

    w = {"emb": take(vocab, dim), "rms_att": take(layers, dim), "wq": take(layers, dim, dim),
         "wk": take(layers, kv, dim), "wv": take(layers, kv, dim), "wo": take(layers, dim, dim),
         "rms_ffn": take(layers, dim), "w1": take(layers, hidden, dim), "w2": take(layers, dim, hidden),
         "w3": take(layers, hidden, dim), "rms_final": take(dim)}
    take(seq, hd // 2)
    take(seq, hd // 2)
    w["cls"] = w["emb"] if shared else take(vocab, dim)
    assert pos == f.size, (pos, f.size)
    return (dim, hidden, layers, heads, kv_heads, vocab, shared), w


def permute(w, n_heads):
    dim1, dim2 = w.shape
    return w.reshape(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(0, 2, 1, 3).reshape(dim1, dim2)


def main():
    hf_dir, bin_path = sys.argv[1], sys.argv[2]
    cfg = json.load(open(hf_dir + "/config.json"))
    st = read_safetensors(hf_dir + "/model.safetensors")
    (dim, hidden, layers, heads, kv_heads, vocab, shared), w = read_llama2c(bin_path)
    assert cfg["hidden_size"] == dim and cfg["num_key_value_heads"] == kv_heads
    expected = {"model.embed_tokens.weight": w["emb"], "model.norm.weight": w["rms_final"]}
    if not shared:
        expected["lm_head.weight"] = w["cls"]
    for l in range(layers):
        p = f"model.layers.{l}."
        expected[p + "input_layernorm.weight"] = w["rms_att"][l]
        expected[p + "self_attn.q_proj.weight"] = permute(w["wq"][l], heads)
        expected[p + "self_attn.k_proj.weight"] = permute(w["wk"][l], kv_heads)
        expected[p + "self_attn.v_proj.weight"] = w["wv"][l]
        expected[p + "self_attn.o_proj.weight"] = w["wo"][l]
        expected[p + "post_attention_layernorm.weight"] = w["rms_ffn"][l]
        expected[p + "mlp.gate_proj.weight"] = w["w1"][l]
        expected[p + "mlp.down_proj.weight"] = w["w2"][l]
        expected[p + "mlp.up_proj.weight"] = w["w3"][l]
    bad = 0
    if set(expected) != set(st):
        print("tensor names differ:", sorted(set(expected) ^ set(st)))
        bad += 1
    for name, e in expected.items():
        a = st.get(name)
        if a is None:
            continue
        ref = e.astype(a.dtype)
        if a.shape != ref.shape or not np.array_equal(a.view(np.uint8), np.ascontiguousarray(ref).view(np.uint8)):
            print("MISMATCH", name, a.shape, ref.shape)
            bad += 1
    print(f"{len(expected)} tensors checked against numpy ({cfg['torch_dtype']}), {bad} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
