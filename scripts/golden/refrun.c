/*
 * refrun.c — nanscope's independent C reference for greedy decoding of a llama2.c checkpoint.
 *
 * Written for nanscope's tests (not derived from llama2.c's source text): it implements the same
 * FP32 arithmetic as llama2.c's run.c at temperature 0 — sequential-k dot products, RMSNorm with
 * eps 1e-5, RoPE on adjacent pairs with theta 10000, softmax with max subtraction, SwiGLU — and its
 * tokenizer (dummy prefix " ", greedy merges by best score, byte fallback id + 3). The Java model is
 * checked against the text it prints. Build: cc -O2 -o refrun refrun.c -lm (no -ffast-math: the
 * float operation order must not be changed).
 *
 * Usage: refrun MODEL.bin TOKENIZER.bin STEPS PROMPT   (prints the decoded text and a newline)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

typedef struct { int dim, hidden, layers, heads, kv_heads, vocab, seq; } Hdr;

static float *emb, *att_norm, *wq, *wk, *wv, *wo, *ffn_norm, *w1, *w2, *w3, *final_norm, *cls;
static Hdr h;
static char **piece;
static float *score;
static int maxlen;

static void die(const char *m) { fprintf(stderr, "refrun: %s\n", m); exit(1); }

static void load_model(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open model");
  if (fread(&h, sizeof h, 1, f) != 1) die("short header");
  int shared = h.vocab > 0;
  h.vocab = abs(h.vocab);
  fseek(f, 0, SEEK_END);
  long n = (ftell(f) - (long)sizeof h) / 4;
  fseek(f, sizeof h, SEEK_SET);
  float *all = malloc(n * sizeof(float));
  if (fread(all, sizeof(float), n, f) != (size_t)n) die("short weights");
  fclose(f);
  long C = h.dim, F = h.hidden, L = h.layers, hs = h.dim / h.heads, kvd = hs * h.kv_heads;
  float *p = all;
  emb = p; p += (long)h.vocab * C;
  att_norm = p; p += L * C;
  wq = p; p += L * C * C;
  wk = p; p += L * kvd * C;
  wv = p; p += L * kvd * C;
  wo = p; p += L * C * C;
  ffn_norm = p; p += L * C;
  w1 = p; p += L * F * C;
  w2 = p; p += L * C * F;
  w3 = p; p += L * F * C;
  final_norm = p; p += C;
  p += (long)h.seq * hs; /* the legacy freq_cis real and imaginary tables, seq x hs/2 each */
  cls = shared ? emb : p;
}

static void load_tokenizer(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open tokenizer");
  if (fread(&maxlen, 4, 1, f) != 1) die("short tokenizer");
  piece = malloc(h.vocab * sizeof(char *));
  score = malloc(h.vocab * sizeof(float));
  for (int i = 0; i < h.vocab; i++) {
    int len;
    if (fread(&score[i], 4, 1, f) != 1 || fread(&len, 4, 1, f) != 1) die("short tokenizer");
    piece[i] = calloc(len + 1, 1);
    if (fread(piece[i], 1, len, f) != (size_t)len) die("short tokenizer");
  }
  fclose(f);
}

static int lookup(const char *s) {
  for (int i = 0; i < h.vocab; i++) if (strcmp(s, piece[i]) == 0) return i;
  return -1;
}

/* dummy prefix, then one token per UTF-8 code point (or its bytes + 3), then best-score merges */
static int encode(const char *text, int *out) {
  int n = 0;
  if (text[0]) out[n++] = lookup(" ");
  char cp[8];
  for (const unsigned char *c = (const unsigned char *)text; *c;) {
    int len = 1;
    while (len < 4 && (c[len] & 0xC0) == 0x80) len++;
    memcpy(cp, c, len); cp[len] = 0;
    int id = lookup(cp);
    if (id >= 0) out[n++] = id;
    else for (int i = 0; i < len; i++) out[n++] = c[i] + 3;
    c += len;
  }
  char *buf = malloc(2 * maxlen + 8);
  for (;;) {
    float best = -1e10f; int bi = -1, bid = -1;
    for (int i = 0; i + 1 < n; i++) {
      snprintf(buf, 2 * maxlen + 8, "%s%s", piece[out[i]], piece[out[i + 1]]);
      int id = lookup(buf);
      if (id >= 0 && score[id] > best) { best = score[id]; bi = i; bid = id; }
    }
    if (bi < 0) break;
    out[bi] = bid;
    memmove(&out[bi + 1], &out[bi + 2], (n - bi - 2) * sizeof(int));
    n--;
  }
  free(buf);
  return n;
}

/* y[d] = sum_k W[d][k] x[k], k ascending, float accumulator */
static void linear(float *y, const float *x, const float *W, int in, int out) {
  for (int d = 0; d < out; d++) {
    float acc = 0.0f;
    const float *row = W + (long)d * in;
    for (int k = 0; k < in; k++) acc += row[k] * x[k];
    y[d] = acc;
  }
}

static void rmsnorm(float *y, const float *x, const float *g, int n) {
  float ss = 0.0f;
  for (int i = 0; i < n; i++) ss += x[i] * x[i];
  ss = ss / n + 1e-5f;
  float inv = 1.0f / sqrtf(ss);
  for (int i = 0; i < n; i++) y[i] = g[i] * (inv * x[i]);
}

static void softmax(float *x, int n) {
  float m = x[0];
  for (int i = 1; i < n; i++) if (x[i] > m) m = x[i];
  float s = 0.0f;
  for (int i = 0; i < n; i++) { x[i] = expf(x[i] - m); s += x[i]; }
  for (int i = 0; i < n; i++) x[i] /= s;
}

int main(int argc, char **argv) {
  if (argc != 5) die("usage: refrun MODEL.bin TOKENIZER.bin STEPS PROMPT");
  load_model(argv[1]);
  load_tokenizer(argv[2]);
  int steps = atoi(argv[3]);
  if (steps <= 0 || steps > h.seq) steps = h.seq;
  const char *prompt = argv[4];
  int C = h.dim, F = h.hidden, hs = h.dim / h.heads, kvd = hs * h.kv_heads, group = h.heads / h.kv_heads;
  int *ptok = malloc((strlen(prompt) + 3) * sizeof(int));
  int np = encode(prompt, ptok);
  float *x = calloc(C, 4), *xb = calloc(C, 4), *xb2 = calloc(C, 4), *q = calloc(C, 4);
  float *k = calloc(kvd, 4), *v = calloc(kvd, 4), *hb = calloc(F, 4), *hb2 = calloc(F, 4);
  float *att = calloc(h.seq, 4), *logits = calloc(h.vocab, 4);
  float *kc = calloc((long)h.layers * h.seq * kvd, 4), *vc = calloc((long)h.layers * h.seq * kvd, 4);
  int token = 1; /* BOS */
  for (int pos = 0; pos < steps; pos++) {
    memcpy(x, emb + (long)token * C, C * 4);
    for (int l = 0; l < h.layers; l++) {
      rmsnorm(xb, x, att_norm + (long)l * C, C);
      linear(q, xb, wq + (long)l * C * C, C, C);
      linear(k, xb, wk + (long)l * kvd * C, C, kvd);
      linear(v, xb, wv + (long)l * kvd * C, C, kvd);
      for (int i = 0; i < C; i += 2) {
        int j = i % hs;
        float freq = 1.0f / powf(10000.0f, j / (float)hs);
        float ang = pos * freq, c = cosf(ang), s = sinf(ang);
        float a0 = q[i], a1 = q[i + 1];
        q[i] = a0 * c - a1 * s; q[i + 1] = a0 * s + a1 * c;
        if (i < kvd) { float b0 = k[i], b1 = k[i + 1]; k[i] = b0 * c - b1 * s; k[i + 1] = b0 * s + b1 * c; }
      }
      long lo = (long)l * h.seq * kvd;
      memcpy(kc + lo + (long)pos * kvd, k, kvd * 4);
      memcpy(vc + lo + (long)pos * kvd, v, kvd * 4);
      for (int hd = 0; hd < h.heads; hd++) {
        const float *qh = q + hd * hs;
        int kvh = hd / group;
        for (int t = 0; t <= pos; t++) {
          const float *kt = kc + lo + (long)t * kvd + kvh * hs;
          float sc = 0.0f;
          for (int i = 0; i < hs; i++) sc += qh[i] * kt[i];
          att[t] = sc / sqrtf(hs);
        }
        softmax(att, pos + 1);
        float *o = xb + hd * hs;
        for (int i = 0; i < hs; i++) o[i] = 0.0f;
        for (int t = 0; t <= pos; t++) {
          const float *vt = vc + lo + (long)t * kvd + kvh * hs;
          for (int i = 0; i < hs; i++) o[i] += att[t] * vt[i];
        }
      }
      linear(xb2, xb, wo + (long)l * C * C, C, C);
      for (int i = 0; i < C; i++) x[i] += xb2[i];
      rmsnorm(xb, x, ffn_norm + (long)l * C, C);
      linear(hb, xb, w1 + (long)l * F * C, C, F);
      linear(hb2, xb, w3 + (long)l * F * C, C, F);
      for (int i = 0; i < F; i++) hb[i] = hb[i] * (1.0f / (1.0f + expf(-hb[i])));
      for (int i = 0; i < F; i++) hb[i] = hb[i] * hb2[i];
      linear(xb, hb, w2 + (long)l * C * F, F, C);
      for (int i = 0; i < C; i++) x[i] += xb[i];
    }
    rmsnorm(x, x, final_norm, C);
    linear(logits, x, cls, C, h.vocab);
    int next;
    if (pos < np) next = ptok[pos];
    else { next = 0; for (int i = 1; i < h.vocab; i++) if (logits[i] > logits[next]) next = i; }
    if (next == 1) break;
    const char *s = piece[next];
    if (token == 1 && s[0] == ' ') s++;
    unsigned int byte;
    if (sscanf(s, "<0x%02X>", &byte) == 1) {
      if (isprint(byte) || isspace(byte)) putchar((int)byte);
    } else {
      fputs(s, stdout);
    }
    token = next;
  }
  putchar('\n');
  return 0;
}
