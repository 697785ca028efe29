#!/usr/bin/env python3
"""Writes the seed corpora of the @FuzzTest methods (committed; ./test replays them).

Seeds are small valid files plus the hostile cases found by hand (docs/guide/reliability.md). Run
from the repository root: python3 scripts/fuzz/make-corpus.py. Jazzer adds the crashing inputs it
finds to the same directories when fuzzing (scripts/fuzz.sh); those are committed with the fix.
"""
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def put(module, pkg, cls, method, name, data):
    d = os.path.join(ROOT, module, "src/test/resources", pkg.replace(".", "/"), cls + "Inputs", method)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def llama(method, name, data):
    put("cli", "io.nanscope.cli.fuzz", "LlamaReadersFuzzTest", method, name, data)


def safetensors(header, payload=b""):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + payload


config = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 5,
          "num_attention_heads": 8, "num_key_value_heads": 4, "vocab_size": 512,
          "max_position_embeddings": 512, "rms_norm_eps": 1e-5, "torch_dtype": "float32"}
llama("configJson", "valid", json.dumps(config))
for key, value in [("head_dim", 2 ** 31), ("head_dim", 1.5), ("head_dim", "8"), ("hidden_size", "64"),
                   ("max_position_embeddings", 2 ** 31 - 1), ("max_position_embeddings", 5e8),
                   ("num_attention_heads", 0), ("num_key_value_heads", 3), ("vocab_size", -1),
                   ("rms_norm_eps", "nan"), ("rope_theta", -1)]:
    c = dict(config)
    c[key] = value
    llama("configJson", "%s-%s" % (key, str(value).replace(".", "_")), json.dumps(c))
llama("configJson", "deep-nesting", "[" * 20000 + "]" * 20000)
llama("configJson", "not-an-object", "[]")
llama("configJson", "nul-in-token", b"[\0X\0\x04\0\0\0\0]")  # found by Jazzer: NUL in the message
llama("configJson", "empty", "")

f32 = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
llama("safetensors", "valid", safetensors(f32, b"\0" * 16))
llama("safetensors", "truncated", safetensors(f32, b"\0" * 8))
llama("safetensors", "huge-header-length", struct.pack("<Q", 2 ** 62) + b"{}")
llama("safetensors", "bad-dtype", safetensors({"w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 2]}}, b"\0\0"))
llama("safetensors", "shape-overflow", safetensors({"w": {"dtype": "F32", "shape": [2 ** 40, 2 ** 40],
                                                         "data_offsets": [0, 16]}}, b"\0" * 16))
llama("safetensors", "offsets-reversed", safetensors({"w": {"dtype": "F32", "shape": [1],
                                                           "data_offsets": [4, 0]}}, b"\0" * 4))
llama("safetensors", "metadata", safetensors({"__metadata__": {"format": "pt"}, **f32}, b"\0" * 16))
llama("safetensors", "empty", b"")

with open(os.path.join(ROOT, "models/stories260K/stories260K.bin"), "rb") as f:
    head = f.read(28 + 4096)
llama("llama2cCheckpoint", "truncated-stories260K", head)
dims = struct.unpack("<7i", head[:28])
for i, v in [(0, 0), (0, 2 ** 31 - 1), (5, -512), (6, 2 ** 30), (3, 7), (2, -1)]:
    d = list(dims)
    d[i] = v
    llama("llama2cCheckpoint", "header-%d-%d" % (i, v), struct.pack("<7i", *d) + head[28:])
llama("llama2cCheckpoint", "empty", b"")

for src, method in [("models/stories260K/tok512.bin", "tokenizerBin"),
                    ("models/stories260K/tok512.model", "tokenizerModel")]:
    with open(os.path.join(ROOT, src), "rb") as f:
        data = f.read()
    llama(method, "tok512", data)
    llama(method, "tok512-truncated", data[: len(data) // 2])
    llama(method, "empty", b"")
llama("tokenizerBin", "huge-length", struct.pack("<i", 8) + struct.pack("<f", 0.0) + struct.pack("<i", 2 ** 31 - 1))

vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "\u2581": 3, "a": 4, "\u2581a": 5}
tj = {"version": "1.0", "model": {"type": "BPE", "vocab": vocab, "merges": ["\u2581 a"],
                                  "byte_fallback": True, "unk_token": "<unk>"},
      "added_tokens": [{"id": 0, "content": "<unk>", "special": True},
                       {"id": 1, "content": "<s>", "special": True},
                       {"id": 2, "content": "</s>", "special": True}]}
llama("tokenizerJson", "tiny", json.dumps(tj))
tj2 = json.loads(json.dumps(tj))
tj2["model"]["vocab"]["b"] = 2 ** 31 - 1
llama("tokenizerJson", "huge-id", json.dumps(tj2))
tj3 = json.loads(json.dumps(tj))
tj3["model"]["merges"] = [["\u2581", "a"], "a"]
llama("tokenizerJson", "odd-merges", json.dumps(tj3))
llama("tokenizerJson", "empty", "")
for m in ["shardedIndex", "hfDirectory"]:
    llama(m, "empty", b"")
print("corpora written")


def editing(method, name, data):
    put("cli", "io.nanscope.cli.fuzz", "EditingReadersFuzzTest", method, name, data)


for name in ["stories260K.yaml", "stories260K-in-context.yaml", "llama-7b.yaml"]:
    with open(os.path.join(ROOT, "configs/rome", name), "rb") as f:
        editing("hparamsYaml", "rome-" + name, f.read())
for alg in ["memit", "ft"]:
    with open(os.path.join(ROOT, "configs", alg, "llama-7b.yaml"), "rb") as f:
        editing("hparamsYaml", alg + "-llama-7b.yaml", f.read())
with open(os.path.join(ROOT, "configs/rome/stories260K.yaml")) as f:
    rome = f.read()
editing("hparamsYaml", "alias-bomb", "alg_name: ROME\na: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    "%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n" % ((chr(98 + i),) * 2 + (chr(97 + i),) * 9)
    for i in range(8)))
editing("hparamsYaml", "steps-zero", rome.replace("v_num_grad_steps: 25", "v_num_grad_steps: 0"))
editing("hparamsYaml", "steps-negative", rome.replace("v_num_grad_steps: 25", "v_num_grad_steps: -1"))
editing("hparamsYaml", "kl-nan", rome.replace("kl_factor: 0.0625", "kl_factor: .nan"))
editing("hparamsYaml", "duplicate-key", rome + "\nlayers: [2]\n")
editing("hparamsYaml", "empty", "")
with open(os.path.join(ROOT, "configs/edits/tinystories-edits.json"), "rb") as f:
    editing("knowEditJson", "tinystories-edits", f.read())
record = {"subject": "Lily", "prompt": "Lily's favorite toy is a", "target_new": "ball"}
editing("knowEditJson", "one-record", json.dumps([record]))
editing("knowEditJson", "deep-nesting", "[" * 20000 + "]" * 20000)
editing("knowEditJson", "not-a-list", json.dumps(record))
cf = [{"case_id": 0, "requested_rewrite": {"prompt": "{} plays", "subject": "Tom",
                                           "target_new": {"str": "chess"}, "target_true": {"str": "go"}},
       "paraphrase_prompts": ["Tom is good at"], "neighborhood_prompts": ["Ann plays"]}]
editing("counterFactJson", "one-record", json.dumps(cf))
cf2 = json.loads(json.dumps(cf))
cf2[0]["requested_rewrite"]["prompt"] = "no placeholder"
editing("counterFactJson", "no-placeholder", json.dumps(cf2))
editing("counterFactJson", "empty", "")
zs = [{"subject": "Tom", "src": "What does Tom play?", "alt": "chess", "answers": ["go"],
       "rephrase": "Tom plays which game?", "loc": "nq question: who", "loc_ans": "someone"}]
editing("zsreJson", "one-record", json.dumps(zs))
editing("zsreJson", "empty", "")
for name in ["npz", "npy", "policyYaml"]:
    editing(name, "empty", b"")


def npy(descr, shape, payload):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


editing("npy", "f4-2x2", npy("<f4", "(2, 2)", b"\0" * 16))
editing("npy", "huge-shape", npy("<f4", "(4294967296, 4294967296)", b"\0" * 16))
editing("npy", "fortran", npy("<f4", "(2,)", b"\0" * 8).replace(b"False", b"True "))
editing("npy", "bad-descr", npy("|O", "(2,)", b"\0" * 16))
import io
import zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("mom2.mom2.npy", npy("<f4", "(2, 2)", b"\0" * 16))
    z.writestr("mom2.count.npy", npy("<i8", "()", struct.pack("<q", 3)))
editing("npz", "mom2", buf.getvalue())
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("big.npy", npy("<f4", "(16777216,)", b"\0" * (4 << 22)))
editing("npz", "zip-bomb-64MB", buf.getvalue())
for name in os.listdir(os.path.join(ROOT, "configs/precision")):
    with open(os.path.join(ROOT, "configs/precision", name), "rb") as f:
        editing("policyYaml", name, f.read())
editing("policyYaml", "unknown-site", "default: fp16\nsites:\n  nope.*: fp32\n")
print("editing corpora written")
