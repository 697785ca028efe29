#!/usr/bin/env python3
"""An independent numpy prototype of MEMIT (Meng et al. 2023) with EasyEdit's semantics, on the
embedded model, for the Java parity test (editing MemitPrototypeParityTest).

Everything is written here from the papers and EasyEdit's published algorithm, nothing is taken from
the Java code: the llama2.c checkpoint and tokenizer are read with numpy/struct, the forward pass is
FP64, and the gradient of the z objective is an FP64 central difference (64 coordinates; the Java
code uses its analytic FP32 backward), so the two agree only if the objective, the positions, the
Adam steps, the keys, the covariance and the update rule agree.

    python3 scripts/editing/memit_prototype.py > editing/src/test/resources/memit/prototype.json

Run offline (a minute or two); the JSON it prints is committed as the fixture.
"""
import json
import struct
import sys

import numpy as np

MODEL = "models/stories260K/stories260K.bin"
TOKENIZER = "models/stories260K/tok512.bin"
CORPUS = "configs/corpus/tinystories-corpus.txt"
# configs/memit/stories260K.yaml (the values the parity test reads from that file)
LAYERS = [1, 2]
STEPS, LR, LOSS_LAYER, WD, CLAMP, KL_FACTOR = 25, 0.5, 4, 1e-3, 4.0, 0.0625
LAMBDA = float(sys.argv[1]) if len(sys.argv) > 1 else 234.0
N_TEXTS, MAX_TOKENS = 300, 256
# MEMIT's context template groups, as the Java sampler produced them (seed 42); fixed here.
GROUPS = [["{}"], ["The sky was a big, b. {}", "Therefore was a se. {}", "Because his ve. {}",
                   "I'm a smart b. {}", "You are very good. {}"]]
# the first two records of configs/edits/tinystories-edits.json, after EasyEdit's pre-processing
REQUESTS = [("{}'s favorite toy is a", "Lily", " doll"), ("{} was very", "Tom", " happy")]


# ------------------------------------------------------------------------------ model (llama2.c)
def read_model(path):
    data = open(path, "rb").read()
    dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len = struct.unpack("7i", data[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    arr = np.frombuffer(data, dtype=np.float32, offset=28)
    hs = dim // n_heads
    at = [0]

    def take(*shape):
        n = int(np.prod(shape))
        a = arr[at[0]:at[0] + n].reshape(shape).astype(np.float64)
        at[0] += n
        return a

    w = dict(emb=take(vocab, dim), rms_att=take(n_layers, dim), wq=take(n_layers, dim, dim),
             wk=take(n_layers, n_kv * hs, dim), wv=take(n_layers, n_kv * hs, dim),
             wo=take(n_layers, dim, dim), rms_ffn=take(n_layers, dim),
             w1=take(n_layers, hidden, dim), w2=take(n_layers, dim, hidden),
             w3=take(n_layers, hidden, dim), rms_final=take(dim))
    at[0] += seq_len * hs  # freq_cis_real and freq_cis_imag, (seq_len, hs/2) each
    w["cls"] = w["emb"] if shared else take(vocab, dim)
    w.update(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads, n_kv=n_kv, hs=hs)
    return w


def rmsnorm(x, g):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-5) * g


def rope(x, n_heads, hs):
    # llama2.c: pairs (2j, 2j+1) of each head rotated by pos / 10000^(2j/hs)
    t = x.shape[0]
    x = x.reshape(t, n_heads, hs // 2, 2)
    ang = np.arange(t)[:, None] / 10000.0 ** (2 * np.arange(hs // 2) / hs)[None, :]
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    x0, x1 = x[..., 0], x[..., 1]
    return np.stack([x0 * c - x1 * s, x0 * s + x1 * c], -1).reshape(t, n_heads * hs)


def layer(w, l, x):
    """One decoder layer on x: (T, C); returns the new residual and the down_proj input (T, F)."""
    t, hs, nh, nkv = x.shape[0], w["hs"], w["n_heads"], w["n_kv"]
    h = rmsnorm(x, w["rms_att"][l])
    q, k, v = h @ w["wq"][l].T, h @ w["wk"][l].T, h @ w["wv"][l].T
    q, k = rope(q, nh, hs), rope(k, nkv, hs)
    out = np.zeros_like(x)
    mask = np.triu(np.full((t, t), -np.inf), 1)
    for hh in range(nh):
        kh = hh // (nh // nkv)
        s = q[:, hh * hs:(hh + 1) * hs] @ k[:, kh * hs:(kh + 1) * hs].T / np.sqrt(hs) + mask
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        out[:, hh * hs:(hh + 1) * hs] = p @ v[:, kh * hs:(kh + 1) * hs]
    x = x + out @ w["wo"][l].T
    h = rmsnorm(x, w["rms_ffn"][l])
    g, u = h @ w["w1"][l].T, h @ w["w3"][l].T
    m = g / (1 + np.exp(-g)) * u
    return x + m @ w["w2"][l].T, m


def run(w, ids, upto=None):
    """Residuals after every layer (list of (T, C)) and down_proj inputs (list of (T, F))."""
    x = w["emb"][ids]
    res, keys = [], []
    for l in range(w["n_layers"] if upto is None else upto + 1):
        x, m = layer(w, l, x)
        res.append(x)
        keys.append(m)
    return res, keys


def logits_from(w, l, x):
    """Logits (T, V) from the residual x after layer l."""
    for j in range(l + 1, w["n_layers"]):
        x, _ = layer(w, j, x)
    return rmsnorm(x, w["rms_final"]) @ w["cls"].T


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


# ------------------------------------------------------------------------------ tokenizer (llama2.c)
def read_tokenizer(path, vocab):
    data = open(path, "rb").read()
    at = 4
    pieces, scores = [], []
    for _ in range(vocab):
        score, n = struct.unpack("fi", data[at:at + 8])
        at += 8
        pieces.append(data[at:at + n].decode("utf-8"))
        scores.append(score)
        at += n
    return pieces, scores


class Tok:
    def __init__(self, pieces, scores):
        self.pieces, self.scores = pieces, scores
        self.index = {p: i for i, p in enumerate(pieces) if i > 2}

    def encode(self, text, bos):
        """llama2.c encode: BOS, the dummy-prefix " ", one piece per character (byte fallback
        +3), then merge the adjacent pair with the best score until none is in the vocabulary."""
        ids = [1] if bos else []
        if not text:
            return ids
        toks = [self.index[" "]]
        for ch in text:
            if ch in self.index:
                toks.append(self.index[ch])
            else:
                toks.extend(b + 3 for b in ch.encode("utf-8"))
        while True:
            best, at = None, -1
            for i in range(len(toks) - 1):
                j = self.index.get(self.pieces[toks[i]] + self.pieces[toks[i + 1]])
                if j is not None and (best is None or self.scores[j] > self.scores[best]):
                    best, at = j, i
            if best is None:
                return ids + toks
            toks[at:at + 2] = [best]

    def decode(self, ids):
        s = "".join(self.pieces[i] for i in ids)
        return s[1:] if s.startswith(" ") else s  # SentencePiece drops the dummy prefix


def subject_last(tok, template, subject):
    return len(tok.encode(template[:template.index("{}")] + subject, True)) - 1


# ------------------------------------------------------------------------------ MEMIT
def compute_z(w, tok, prompt, subject, target, zl):
    """EasyEdit compute_z: δ added to the residual after layer zl at the subject's last token of
    every prompt; Adam(lr) on nll + kl + wd; early stop; clamp. Returns (z, losses, init)."""
    target_ids = tok.encode(target, False)
    flat = [t for g in GROUPS for t in g]
    rewriting = [t.replace("{}", prompt) + tok.decode(target_ids[:-1]) for t in flat]
    prompts = rewriting + ["{} is a"]
    seqs = [tok.encode(p.replace("{}", subject), True) for p in prompts]
    look = [subject_last(tok, p, subject) for p in prompts]
    n = len(target_ids)
    base = [run(w, s, zl)[0][zl] for s in seqs]  # residual after zl, without δ
    init = base[0][look[0]].copy()
    c = init.shape[0]
    state = {}

    def loss(delta, record=False):
        nll_each, klrow = [], None
        for i, s in enumerate(seqs):
            x = base[i].copy()
            x[look[i]] += delta
            if i < len(rewriting):
                lp = log_softmax(logits_from(w, zl, x)[len(s) - n:])
                nll_each.append(-sum(lp[j, target_ids[j]] for j in range(n)) / n)
            else:
                klrow = log_softmax(logits_from(w, zl, x)[look[i]])
        if "kl_init" not in state:
            state["kl_init"] = klrow.copy()
        kl = KL_FACTOR * np.sum(np.exp(klrow) * (klrow - state["kl_init"]))
        nll = np.mean(nll_each)
        wd = WD * np.linalg.norm(delta) / np.linalg.norm(init) ** 2
        if record:
            state["avg"] = float(np.mean(np.exp(-np.array(nll_each))))
        return nll + kl + wd

    delta = np.zeros(c)
    m, v = np.zeros(c), np.zeros(c)
    losses = []
    h = 1e-5
    for it in range(STEPS):
        value = loss(delta, True)
        losses.append(float(value))
        if value < 5e-2 or it == STEPS - 1:
            break
        g = np.zeros(c)
        for j in range(c):
            e = np.zeros(c)
            e[j] = h
            g[j] = (loss(delta + e) - loss(delta - e)) / (2 * h)
        t = it + 1
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        delta = delta - LR * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        limit = CLAMP * np.linalg.norm(init)
        if np.linalg.norm(delta) > limit:
            delta = delta * limit / np.linalg.norm(delta)
    return init + delta, losses, init


def keys_at(w, tok, l, prompt, subject):
    means = []
    for g in GROUPS:
        ks = []
        for t in g:
            text = t.replace("{}", prompt)
            ks.append(run(w, tok.encode(text.replace("{}", subject), True), l)[1][l][subject_last(tok, text, subject)])
        means.append(np.mean(ks, 0))
    return np.mean(means, 0)


def second_moment(w, tok, l):
    text = open(CORPUS, encoding="utf-8").read().replace("\r\n", "\n")
    paras, cur = [], []
    for line in text.split("\n"):
        if line.strip() == "":
            if cur:
                paras.append("\n".join(cur).strip())
            cur = []
        else:
            cur.append(line)
    if cur:
        paras.append("\n".join(cur).strip())
    f = w["hidden"]
    s, count = np.zeros((f, f)), 0
    for p in paras[:N_TEXTS]:
        ids = tok.encode(p, True)[:MAX_TOKENS]
        k = run(w, ids, l)[1][l]
        s += k.T @ k
        count += len(ids)
    return s / count


def main():
    w = read_model(MODEL)
    tok = Tok(*read_tokenizer(TOKENIZER, w["emb"].shape[0]))
    zl = LAYERS[-1]
    out = {"lambda": LAMBDA, "layers": LAYERS, "requests": [], "layer_updates": []}
    zs = []
    for prompt, subject, target in REQUESTS:
        z, losses, init = compute_z(w, tok, prompt, subject, target, zl)
        zs.append(z)
        out["requests"].append({"prompt": prompt, "subject": subject, "target": target,
                                "losses": losses, "init_norm": float(np.linalg.norm(init)),
                                "z_norm": float(np.linalg.norm(z)), "z": z.tolist()})
    zs = np.stack(zs, 1)  # (C, n)
    # C of every edit layer on the unedited model (the statistics EasyEdit caches on disk)
    covs = {l: second_moment(w, tok, l) for l in LAYERS}
    for i, l in enumerate(LAYERS):
        k = np.stack([keys_at(w, tok, l, p, s) for p, s, _ in REQUESTS], 1)  # (F, n)
        cur = np.stack([run(w, tok.encode(p.replace("{}", s), True), zl)[0][zl][subject_last(tok, p, s)]
                        for p, s, _ in REQUESTS], 1)
        r = (zs - cur) / (len(LAYERS) - i)
        cov = covs[l]
        adj = np.linalg.solve(LAMBDA * cov + k @ k.T, k)
        dw = r @ adj.T  # (C, F)
        w["w2"][l] = w["w2"][l] + dw
        out["layer_updates"].append({"layer": l, "cov_trace": float(np.trace(cov)),
                                     "z_error": float(np.linalg.norm(zs - cur, axis=0).mean()),
                                     "delta_norm": float(np.linalg.norm(dw)),
                                     "delta_keys": (dw @ k).T.tolist()})
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
