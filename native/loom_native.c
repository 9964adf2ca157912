/*
 * Loom's optional native kernels (src/engine/backend/cpu-native.ts loads them, scripts/build-native.mjs builds them
 * at install): a packed, blocked single-precision matrix multiply with an AVX2 + FMA micro-kernel, the fused LSTM
 * forward of a whole sequence, the attention core (forward and backward), a fused AdamW step, LayerNorm (forward
 * and backward), the GELU and SiLU activations (forward and gradient), 2×2 max pooling and a convolution's
 * unrolling (im2col, its adjoint and the bias gradient).
 *
 * C[m×n] = op(A)·op(B) (+ C when accumulate), row-major, exactly MatmulArgs (src/engine/backend/types.ts): op(A) is
 * A (m×k) or, transposed, A stored k×m; op(B) is B (k×n) or B stored n×k. The AVX2 code is compiled with per-function
 * target attributes, so the addon loads on any x86-64 CPU; `supported()` says whether this CPU (and OS) runs it, and
 * the loader refuses the addon, falling back to WebAssembly, when it does not. Other architectures get a stub whose
 * `supported()` is false.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define LOOM_X86 1
#include <immintrin.h>
#endif

/* Register tile 6×16 (12 ymm accumulators); depth blocks of 256, 96-row A blocks (in L2), 1024-column B blocks. */
enum { MR = 6, NR = 16, KC = 256, MC = 96, NC = 1024 };

/* Packing scratch, one per Node environment (main thread and each worker thread), so threads never share it. */
typedef struct {
  float *a; /* MC·KC */
  float *b; /* KC·NC */
} Scratch;

#ifdef LOOM_X86
#define AVX2 __attribute__((target("avx2,fma")))

/* Packs op(A)[i0 .. i0+mc)[p0 .. p0+kc) into MR-row panels, each p-major (MR values per p), zero-padded rows. */
AVX2 static void packA(float *dst, const float *a, int transA, int m, int k, int i0, int mc, int p0, int kc) {
  for (int ir = 0; ir < mc; ir += MR) {
    const int rows = mc - ir < MR ? mc - ir : MR;
    float *panel = dst + (size_t)ir * kc;
    if (transA) {
      /* A is k×m: each p holds op(A)'s column, contiguous over i. */
      for (int p = 0; p < kc; p++) {
        const float *src = a + (size_t)(p0 + p) * m + i0 + ir;
        float *out = panel + p * MR;
        int r = 0;
        for (; r < rows; r++) out[r] = src[r];
        for (; r < MR; r++) out[r] = 0.0f;
      }
    } else {
      for (int r = 0; r < MR; r++) {
        if (r < rows) {
          const float *src = a + (size_t)(i0 + ir + r) * k + p0;
          for (int p = 0; p < kc; p++) panel[p * MR + r] = src[p];
        } else {
          for (int p = 0; p < kc; p++) panel[p * MR + r] = 0.0f;
        }
      }
    }
  }
}

/* Transposes 8 rows of 8 floats in registers. */
AVX2 static inline void transpose8(__m256 r[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    s[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
  }
}

/* One full NR-column panel of a transposed B (n×k): 8×8 blocks transposed in registers, the depth tail by scalars. */
AVX2 static void packBPanelTrans(float *panel, const float *b, int k, int j, int p0, int kc) {
  int p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (int half = 0; half < NR; half += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(b + (size_t)(j + half + i) * k + p0 + p);
      transpose8(r);
      for (int q = 0; q < 8; q++) _mm256_store_ps(panel + (p + q) * NR + half, r[q]);
    }
  }
  for (; p < kc; p++)
    for (int c = 0; c < NR; c++) panel[p * NR + c] = b[(size_t)(j + c) * k + p0 + p];
}

/* Packs op(B)[p0 .. p0+kc)[j0 .. j0+nc) into NR-column panels, each p-major (NR values per p), zero-padded columns. */
AVX2 static void packB(float *dst, const float *b, int transB, int n, int k, int j0, int nc, int p0, int kc) {
  for (int jr = 0; jr < nc; jr += NR) {
    const int cols = nc - jr < NR ? nc - jr : NR;
    float *panel = dst + (size_t)jr * kc;
    if (!transB) {
      for (int p = 0; p < kc; p++) {
        const float *src = b + (size_t)(p0 + p) * n + j0 + jr;
        float *out = panel + p * NR;
        int c = 0;
        for (; c < cols; c++) out[c] = src[c];
        for (; c < NR; c++) out[c] = 0.0f;
      }
    } else if (cols == NR) {
      packBPanelTrans(panel, b, k, j0 + jr, p0, kc);
    } else {
      /* B is n×k: op(B)'s column j is B's row j, contiguous over p. */
      for (int c = 0; c < NR; c++) {
        if (c < cols) {
          const float *src = b + (size_t)(j0 + jr + c) * k + p0;
          for (int p = 0; p < kc; p++) panel[p * NR + c] = src[p];
        } else {
          for (int p = 0; p < kc; p++) panel[p * NR + c] = 0.0f;
        }
      }
    }
  }
}

/*
 * One MR×NR tile over kc: C(tile) = A·B (+ C(tile) when load). Full tiles update C in place; edge tiles go through
 * a small buffer so nothing outside the rows × cols window is read or written.
 */
AVX2 static void kernel6x16(int kc, const float *pa, const float *pb, float *c, int ldc, int rows, int cols, int load) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_load_ps(pb);
    const __m256 b1 = _mm256_load_ps(pb + 8);
    __m256 a = _mm256_broadcast_ss(pa);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(pa + 1);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(pa + 2);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(pa + 3);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(pa + 4);
    c40 = _mm256_fmadd_ps(a, b0, c40);
    c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(pa + 5);
    c50 = _mm256_fmadd_ps(a, b0, c50);
    c51 = _mm256_fmadd_ps(a, b1, c51);
    pa += MR;
    pb += NR;
  }
  const __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (rows == MR && cols == NR) {
    for (int r = 0; r < MR; r++) {
      float *row = c + (size_t)r * ldc;
      __m256 lo = acc[r][0], hi = acc[r][1];
      if (load) {
        lo = _mm256_add_ps(lo, _mm256_loadu_ps(row));
        hi = _mm256_add_ps(hi, _mm256_loadu_ps(row + 8));
      }
      _mm256_storeu_ps(row, lo);
      _mm256_storeu_ps(row + 8, hi);
    }
    return;
  }
  float tile[MR * NR] __attribute__((aligned(32)));
  for (int r = 0; r < MR; r++) {
    _mm256_store_ps(tile + r * NR, acc[r][0]);
    _mm256_store_ps(tile + r * NR + 8, acc[r][1]);
  }
  for (int r = 0; r < rows; r++) {
    float *row = c + (size_t)r * ldc;
    const float *t = tile + r * NR;
    if (load)
      for (int j = 0; j < cols; j++) row[j] += t[j];
    else
      for (int j = 0; j < cols; j++) row[j] = t[j];
  }
}

AVX2 static void sgemmAvx2(Scratch *s, const float *a, const float *b, float *c, int m, int n, int k, int transA, int transB, int accumulate) {
  if (k == 0) {
    if (!accumulate) memset(c, 0, sizeof(float) * (size_t)m * n);
    return;
  }
  for (int jc = 0; jc < n; jc += NC) {
    const int nc = n - jc < NC ? n - jc : NC;
    for (int pc = 0; pc < k; pc += KC) {
      const int kc = k - pc < KC ? k - pc : KC;
      /* The first depth block writes C (or adds to it when accumulating); later ones always add. */
      const int load = accumulate || pc > 0;
      packB(s->b, b, transB, n, k, jc, nc, pc, kc);
      for (int ic = 0; ic < m; ic += MC) {
        const int mc = m - ic < MC ? m - ic : MC;
        packA(s->a, a, transA, m, k, ic, mc, pc, kc);
        for (int jr = 0; jr < nc; jr += NR) {
          const int cols = nc - jr < NR ? nc - jr : NR;
          const float *pb = s->b + (size_t)jr * kc;
          for (int ir = 0; ir < mc; ir += MR) {
            const int rows = mc - ir < MR ? mc - ir : MR;
            kernel6x16(kc, s->a + (size_t)ir * kc, pb, c + (size_t)(ic + ir) * n + jc + jr, n, rows, cols, load);
          }
        }
      }
    }
  }
}

/*
 * One AdamW step in place (train/optimizers.ts's loop, the reference): in float64 with the reference's operation
 * order and no fused multiply-adds (-ffp-contract=off), so w, m and v come out bit for bit what the JavaScript
 * loop writes. Float32 in and out, rounded to nearest like a Float32Array store.
 */
AVX2 static void adamwAvx2(float *w, const float *g, float *m, float *v, size_t n, const double *h) {
  const double b1 = h[0], b2 = h[1], eps = h[2], stepSize = h[3], invSqrtC2 = h[4], decay = h[5];
  const __m256d B1 = _mm256_set1_pd(b1), C1 = _mm256_set1_pd(1 - b1), B2 = _mm256_set1_pd(b2), C2 = _mm256_set1_pd(1 - b2);
  const __m256d EPS = _mm256_set1_pd(eps), STEP = _mm256_set1_pd(stepSize), INV = _mm256_set1_pd(invSqrtC2), DECAY = _mm256_set1_pd(decay);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d gi = _mm256_cvtps_pd(_mm_loadu_ps(g + i));
    const __m256d mi = _mm256_add_pd(_mm256_mul_pd(B1, _mm256_cvtps_pd(_mm_loadu_ps(m + i))), _mm256_mul_pd(C1, gi));
    const __m256d vi = _mm256_add_pd(_mm256_mul_pd(B2, _mm256_cvtps_pd(_mm_loadu_ps(v + i))), _mm256_mul_pd(_mm256_mul_pd(C2, gi), gi));
    _mm_storeu_ps(m + i, _mm256_cvtpd_ps(mi));
    _mm_storeu_ps(v + i, _mm256_cvtpd_ps(vi));
    const __m256d wi = _mm256_cvtps_pd(_mm_loadu_ps(w + i));
    const __m256d den = _mm256_add_pd(_mm256_mul_pd(_mm256_sqrt_pd(vi), INV), EPS);
    const __m256d next = _mm256_sub_pd(_mm256_sub_pd(wi, _mm256_div_pd(_mm256_mul_pd(STEP, mi), den)), _mm256_mul_pd(DECAY, wi));
    _mm_storeu_ps(w + i, _mm256_cvtpd_ps(next));
  }
  for (; i < n; i++) {
    const double gi = g[i];
    const double mi = b1 * m[i] + (1 - b1) * gi;
    const double vi = b2 * v[i] + (1 - b2) * gi * gi;
    m[i] = (float)mi;
    v[i] = (float)vi;
    const double wi = w[i];
    w[i] = (float)(wi - (stepSize * mi) / (__builtin_sqrt(vi) * invSqrtC2 + eps) - decay * wi);
  }
}

/* e^x per lane (Cephes expf, as assembly/lstm.ts): range reduction by ln 2, degree-5 polynomial, 2^n from the bits. */
AVX2 static inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  x = _mm256_fmadd_ps(n, _mm256_set1_ps(-0.693359375f), x);
  x = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i pow2n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(pow2n));
}

AVX2 static inline __m256 sigmoid8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

/* tanh x = 1 − 2/(1 + e^{2x}): saturates cleanly at ±1, absolute error at float32 rounding near 0. */
AVX2 static inline __m256 tanh8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(one, exp8(_mm256_add_ps(x, x)))));
}

/*
 * The LSTM forward of a whole sequence (LstmForwardArgs in src/engine/backend/types.ts; assembly/lstm.ts is the
 * WebAssembly twin): gates i, f, g, o fused in [4h] rows, time-major outputs, hidden a multiple of 8. xw is scratch
 * [batch·seq][4h].
 */
AVX2 static void lstmAvx2(Scratch *sc, const float *x, const float *kernel, const float *recurrent, const float *bias, float *xw, float *hs, float *cs,
                          float *gates, float *cellTanh, int batch, int seq, int inSize, int h) {
  const int g4 = 4 * h;
  const size_t step = (size_t)batch * h;
  sgemmAvx2(sc, x, kernel, xw, batch * seq, g4, inSize, 0, 0, 0);
  memset(hs, 0, sizeof(float) * step);
  memset(cs, 0, sizeof(float) * step);
  for (int t = 0; t < seq; t++) {
    float *gt = gates + (size_t)t * batch * g4;
    for (int s = 0; s < batch; s++) {
      float *row = gt + (size_t)s * g4;
      const float *from = xw + ((size_t)s * seq + t) * g4;
      for (int j = 0; j < g4; j += 8) _mm256_storeu_ps(row + j, _mm256_add_ps(_mm256_loadu_ps(from + j), _mm256_loadu_ps(bias + j)));
    }
    if (t > 0) sgemmAvx2(sc, hs + (size_t)t * step, recurrent, gt, batch, g4, h, 0, 0, 1);
    for (int s = 0; s < batch; s++) {
      float *row = gt + (size_t)s * g4;
      const size_t prev = (size_t)t * step + (size_t)s * h;
      const size_t next = prev + step;
      float *tcAt = cellTanh + (size_t)t * step + (size_t)s * h;
      for (int j = 0; j < h; j += 8) {
        const __m256 i8 = sigmoid8(_mm256_loadu_ps(row + j));
        const __m256 f8 = sigmoid8(_mm256_loadu_ps(row + h + j));
        const __m256 g8 = tanh8(_mm256_loadu_ps(row + 2 * h + j));
        const __m256 o8 = sigmoid8(_mm256_loadu_ps(row + 3 * h + j));
        _mm256_storeu_ps(row + j, i8);
        _mm256_storeu_ps(row + h + j, f8);
        _mm256_storeu_ps(row + 2 * h + j, g8);
        _mm256_storeu_ps(row + 3 * h + j, o8);
        const __m256 c = _mm256_fmadd_ps(f8, _mm256_loadu_ps(cs + prev + j), _mm256_mul_ps(i8, g8));
        const __m256 tc = tanh8(c);
        _mm256_storeu_ps(cs + next + j, c);
        _mm256_storeu_ps(tcAt + j, tc);
        _mm256_storeu_ps(hs + next + j, _mm256_mul_ps(o8, tc));
      }
    }
  }
}

/* y[d] += alpha·x[d] over n floats. */
AVX2 static inline void axpyf(float *y, float alpha, const float *x, int n) {
  const __m256 a = _mm256_set1_ps(alpha);
  int d = 0;
  for (; d + 8 <= n; d += 8) _mm256_storeu_ps(y + d, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + d), _mm256_loadu_ps(y + d)));
  for (; d < n; d++) y[d] += alpha * x[d];
}

/* scores[j] = e^(scores[j] − max) for j < n, returning their sum; lanes past n are neither written nor summed. */
AVX2 static float expShifted(float *scores, int n, float max) {
  const __m256 m = _mm256_set1_ps(max);
  __m256 acc = _mm256_setzero_ps();
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + j), m));
    _mm256_storeu_ps(scores + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  float lanes[8] __attribute__((aligned(32)));
  _mm256_store_ps(lanes, acc);
  float sum = 0;
  for (int l = 0; l < 8; l++) sum += lanes[l];
  if (j < n) {
    float tail[8] __attribute__((aligned(32))) = {0};
    for (int t = 0; t < n - j; t++) tail[t] = scores[j + t] - max;
    _mm256_store_ps(tail, exp8(_mm256_load_ps(tail)));
    for (int t = 0; t < n - j; t++) {
      scores[j + t] = tail[t];
      sum += tail[t];
    }
  }
  return sum;
}

/*
 * One head's keys (or values) as columns: dst[d][j] = src row j's element d for j < rows, zeros from rows up to pad
 * (a multiple of 8), so that a query's scores against eight keys are one vector.
 */
AVX2 static void packHeadColumns(const float *src, int rows, int rowStride, int headDim, int pad, float *dst) {
  for (int d = 0; d < headDim; d++) {
    float *col = dst + (size_t)d * pad;
    for (int j = 0; j < rows; j++) col[j] = src[(size_t)j * rowStride + d];
    for (int j = rows; j < pad; j++) col[j] = 0;
  }
}

/*
 * dots[j] = Σ_d a[d]·cols[d][j] for j < pad, eight columns at a time, each rounded as the per-key dot product the
 * attention kernels used before rounded it: lanes d mod 8 accumulated with fused multiply-adds, summed
 * ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)), then the n mod 8 tail multiplied and added one by one. So the
 * kernels below give the same values, without a horizontal sum per key.
 */
AVX2 static void dotColumns(const float *a, const float *cols, int n, int pad, float *dots) {
  const int full = n & ~7;
  for (int j = 0; j < pad; j += 8) {
    __m256 l0 = _mm256_setzero_ps(), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0, l6 = l0, l7 = l0;
    for (int d = 0; d < full; d += 8) {
      const float *c = cols + (size_t)d * pad + j;
      l0 = _mm256_fmadd_ps(_mm256_set1_ps(a[d]), _mm256_loadu_ps(c), l0);
      l1 = _mm256_fmadd_ps(_mm256_set1_ps(a[d + 1]), _mm256_loadu_ps(c + pad), l1);
      l2 = _mm256_fmadd_ps(_mm256_set1_ps(a[d + 2]), _mm256_loadu_ps(c + 2 * (size_t)pad), l2);
      l3 = _mm256_fmadd_ps(_mm256_set1_ps(a[d + 3]), _mm256_loadu_ps(c + 3 * (size_t)pad), l3);
      l4 = _mm256_fmadd_ps(_mm256_set1_ps(a[d + 4]), _mm256_loadu_ps(c + 4 * (size_t)pad), l4);
      l5 = _mm256_fmadd_ps(_mm256_set1_ps(a[d + 5]), _mm256_loadu_ps(c + 5 * (size_t)pad), l5);
      l6 = _mm256_fmadd_ps(_mm256_set1_ps(a[d + 6]), _mm256_loadu_ps(c + 6 * (size_t)pad), l6);
      l7 = _mm256_fmadd_ps(_mm256_set1_ps(a[d + 7]), _mm256_loadu_ps(c + 7 * (size_t)pad), l7);
    }
    __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(l0, l4), _mm256_add_ps(l2, l6)), _mm256_add_ps(_mm256_add_ps(l1, l5), _mm256_add_ps(l3, l7)));
    for (int d = full; d < n; d++) sum = _mm256_add_ps(sum, _mm256_mul_ps(_mm256_set1_ps(a[d]), _mm256_loadu_ps(cols + (size_t)d * pad + j)));
    _mm256_storeu_ps(dots + j, sum);
  }
}

/*
 * y[0 … 8·chunks) += Σ_j w[j]·x_j over the j < n with w[j] ≠ 0 (x_j = x + j·stride), in j order with fused
 * multiply-adds: axpyf's chain for each element, the sums kept in registers instead of stored and reloaded per j.
 */
static inline __attribute__((always_inline, target("avx2,fma"))) void weightedRows(float *y, const float *w, const float *x, size_t stride, int n, int chunks) {
  __m256 acc0 = _mm256_loadu_ps(y), acc1 = chunks > 1 ? _mm256_loadu_ps(y + 8) : acc0, acc2 = chunks > 2 ? _mm256_loadu_ps(y + 16) : acc0, acc3 = chunks > 3 ? _mm256_loadu_ps(y + 24) : acc0;
  for (int j = 0; j < n; j++) {
    if (w[j] == 0.0f) continue;
    const __m256 a = _mm256_set1_ps(w[j]);
    const float *row = x + (size_t)j * stride;
    acc0 = _mm256_fmadd_ps(a, _mm256_loadu_ps(row), acc0);
    if (chunks > 1) acc1 = _mm256_fmadd_ps(a, _mm256_loadu_ps(row + 8), acc1);
    if (chunks > 2) acc2 = _mm256_fmadd_ps(a, _mm256_loadu_ps(row + 16), acc2);
    if (chunks > 3) acc3 = _mm256_fmadd_ps(a, _mm256_loadu_ps(row + 24), acc3);
  }
  _mm256_storeu_ps(y, acc0);
  if (chunks > 1) _mm256_storeu_ps(y + 8, acc1);
  if (chunks > 2) _mm256_storeu_ps(y + 16, acc2);
  if (chunks > 3) _mm256_storeu_ps(y + 24, acc3);
}

/* weightedRows for a headDim of 8, 16, 24 or 32; any other size through axpyf per row (the same values). */
AVX2 static void weightedHeadRows(float *y, const float *w, const float *x, size_t stride, int n, int headDim) {
  switch (headDim) {
    case 8: weightedRows(y, w, x, stride, n, 1); return;
    case 16: weightedRows(y, w, x, stride, n, 2); return;
    case 24: weightedRows(y, w, x, stride, n, 3); return;
    case 32: weightedRows(y, w, x, stride, n, 4); return;
    default:
      for (int j = 0; j < n; j++) {
        if (w[j] != 0.0f) axpyf(y, w[j], x + (size_t)j * stride, headDim);
      }
  }
}

/*
 * Scaled dot-product attention (AttentionArgs in src/engine/backend/types.ts; cpu-attention.ts is the reference):
 * q, out [batch][seqQ][heads·headDim], k, v [batch][seqK][kvHeads·headDim], probs [batch][heads][seqQ][seqK], masked
 * probabilities exact zeros. Scratch: scores of seqKPad(seqK) floats, kt of headDim·seqKPad (a kv head's keys as
 * columns, packed once per kv head and batch row).
 */
static inline int seqKPad(int seqK) { return (seqK + 7) & ~7; }
AVX2 static void attentionAvx2(const float *q, const float *k, const float *v, float *out, float *probs, int batch, int heads, int kvHeads, int seqQ,
                               int seqK, int headDim, int causal, float scale, float *scores, float *kt) {
  const int group = heads / kvHeads, qRow = heads * headDim, kvRow = kvHeads * headDim, pad = seqKPad(seqK);
  memset(out, 0, sizeof(float) * (size_t)batch * seqQ * qRow);
  for (int b = 0; b < batch; b++) {
    for (int h = 0; h < heads; h++) {
      const size_t kvBase = (size_t)b * seqK * kvRow + (size_t)(h / group) * headDim;
      if (h % group == 0) packHeadColumns(k + kvBase, seqK, kvRow, headDim, pad, kt);
      for (int i = 0; i < seqQ; i++) {
        const size_t qOff = ((size_t)b * seqQ + i) * qRow + (size_t)h * headDim;
        float *p = probs + (((size_t)b * heads + h) * seqQ + i) * seqK;
        const int visible = causal ? (i + 1 < seqK ? i + 1 : seqK) : seqK;
        dotColumns(q + qOff, kt, headDim, pad, scores);
        float max = -__builtin_inff();
        for (int j = 0; j < visible; j++) {
          const float s = scores[j] * scale;
          scores[j] = s;
          if (s > max) max = s;
        }
        const float sum = expShifted(scores, visible, max);
        for (int j = 0; j < seqK; j++) p[j] = j < visible ? scores[j] / sum : 0.0f;
        weightedHeadRows(out + qOff, p, v + kvBase, kvRow, seqK, headDim);
      }
    }
  }
}

/*
 * Gradients from the saved probs (cpu-attention.ts's attentionBackwardJs); dq, dk, dv overwritten. Per batch row and
 * head, first each query row i: dP_ij = dOut_i·v_j, dS_ij = P_ij(dP_ij − Σ_j P_ij·dP_ij)·scale, dq_i = Σ_j dS_ij·k_j;
 * then each key row j: dv_j += Σ_i P_ij·dOut_i and dk_j += Σ_i dS_ij·q_i, with i ascending as a query-major loop would
 * add them, so every sum is rounded as before; the sums run in registers. Skipped: the terms whose P_ij is 0 (masked),
 * and in dq, dv, dk a term whose weight is exactly 0. Scratch: dS of seqQ·seqK floats, dp and a column of
 * seqKPad(seqK) and seqQ floats, vt of headDim·seqKPad (a kv head's values as columns).
 */
AVX2 static void attentionBackwardAvx2(const float *q, const float *k, const float *v, const float *probs, const float *dOut, float *dq, float *dk, float *dv,
                                       int batch, int heads, int kvHeads, int seqQ, int seqK, int headDim, float scale, float *dS, float *dp, float *column, float *vt) {
  const int group = heads / kvHeads, qRow = heads * headDim, kvRow = kvHeads * headDim, pad = seqKPad(seqK);
  memset(dq, 0, sizeof(float) * (size_t)batch * seqQ * qRow);
  memset(dk, 0, sizeof(float) * (size_t)batch * seqK * kvRow);
  memset(dv, 0, sizeof(float) * (size_t)batch * seqK * kvRow);
  for (int b = 0; b < batch; b++) {
    for (int h = 0; h < heads; h++) {
      const size_t kvBase = (size_t)b * seqK * kvRow + (size_t)(h / group) * headDim;
      const size_t qBase = (size_t)b * seqQ * qRow + (size_t)h * headDim;
      const float *P = probs + ((size_t)b * heads + h) * seqQ * seqK;
      if (h % group == 0) packHeadColumns(v + kvBase, seqK, kvRow, headDim, pad, vt);
      for (int i = 0; i < seqQ; i++) {
        const float *p = P + (size_t)i * seqK;
        float *ds = dS + (size_t)i * seqK;
        dotColumns(dOut + qBase + (size_t)i * qRow, vt, headDim, pad, dp);
        float dot = 0;
        for (int j = 0; j < seqK; j++) {
          if (p[j] != 0.0f) dot += p[j] * dp[j];
        }
        for (int j = 0; j < seqK; j++) ds[j] = p[j] == 0.0f ? 0.0f : p[j] * (dp[j] - dot) * scale;
        weightedHeadRows(dq + qBase + (size_t)i * qRow, ds, k + kvBase, kvRow, seqK, headDim);
      }
      for (int j = 0; j < seqK; j++) {
        for (int i = 0; i < seqQ; i++) column[i] = P[(size_t)i * seqK + j];
        weightedHeadRows(dv + kvBase + (size_t)j * kvRow, column, dOut + qBase, qRow, seqQ, headDim);
        for (int i = 0; i < seqQ; i++) column[i] = dS[(size_t)i * seqK + j];
        weightedHeadRows(dk + kvBase + (size_t)j * kvRow, column, q + qBase, qRow, seqQ, headDim);
      }
    }
  }
}

/*
 * Element-wise GELU (tanh form) and SiLU and their gradients: src/engine/activations.ts's loops, the reference, with
 * its formulas and operation order, in float64: in float32 the exponent's argument alone (|2u| up to ~87 before the
 * result underflows) would carry ~|2u|·6e-8 relative error, so the deep tails would miss the reference by over 1e-6;
 * in float64 the outputs match it to float32 rounding. Sixteen floats a step, as four vectors of four doubles taken
 * through every operation together: each value is a chain of some fifty dependent operations (a degree-8 polynomial,
 * a division), and one vector at a time leaves the core waiting on that chain, not computing.
 */
enum { ACT_GELU = 0, ACT_SILU = 1 };
#define GELU_C 0.7978845608028654 /* √(2/π), Math.sqrt(2 / Math.PI) */
#define ACT_VECTORS 4             /* vectors of four doubles in flight */
#define ACT_STEP (4 * ACT_VECTORS) /* floats a step */
#define EACH for (int u = 0; u < ACT_VECTORS; u++)
#define ACT_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/*
 * e^x per lane, as activations.ts's fastExp: x = k·ln2 + r (Cody-Waite), |r| ≤ ln2/2, degree-8 Taylor polynomial
 * (~2e-10 relative), 2^k built in the exponent bits. x > 709 gives +∞ and x < −708 gives 0 (the reference still
 * returns finite values up to 709.78 and subnormals down to −745, which change no float32 result here), NaN stays NaN.
 */
ACT_INLINE void expPdN(const __m256d *x, __m256d *e) {
  const __m256d hi = _mm256_set1_pd(709.0), lo = _mm256_set1_pd(-708.0);
  __m256d xc[ACT_VECTORS], k[ACT_VECTORS], r[ACT_VECTORS], p[ACT_VECTORS];
  EACH xc[u] = _mm256_max_pd(_mm256_min_pd(x[u], hi), lo);
  EACH k[u] = _mm256_round_pd(_mm256_mul_pd(xc[u], _mm256_set1_pd(1.4426950408889634)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  EACH r[u] = _mm256_sub_pd(_mm256_sub_pd(xc[u], _mm256_mul_pd(k[u], _mm256_set1_pd(0.6931471803691238))), _mm256_mul_pd(k[u], _mm256_set1_pd(1.9082149292705877e-10)));
  static const double coef[8] = {1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0};
  EACH p[u] = _mm256_set1_pd(1.0 / 40320);
  for (int c = 0; c < 8; c++) {
    const __m256d cc = _mm256_set1_pd(coef[c]);
    EACH p[u] = _mm256_add_pd(_mm256_mul_pd(p[u], r[u]), cc);
  }
  /* k + 2^52 + 1023 holds k + 1023 in its low mantissa bits (|k| ≤ 1023 here); shifted up, that is 2^k's exponent. */
  EACH e[u] = _mm256_mul_pd(p[u], _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(_mm256_add_pd(k[u], _mm256_set1_pd(4503599627370496.0 + 1023))), 52)));
  EACH e[u] = _mm256_blendv_pd(e[u], _mm256_set1_pd(__builtin_inf()), _mm256_cmp_pd(x[u], hi, _CMP_GT_OQ));
  EACH e[u] = _mm256_blendv_pd(e[u], _mm256_setzero_pd(), _mm256_cmp_pd(x[u], lo, _CMP_LT_OQ));
  EACH e[u] = _mm256_blendv_pd(e[u], x[u], _mm256_cmp_pd(x[u], x[u], _CMP_UNORD_Q));
}

/* e^(−2u) for GELU (u = √(2/π)(v + 0.044715v³)), e^(−v) for SiLU: 1/(1 + it) is the sigmoid both are built on. */
ACT_INLINE void negSigmoidExpN(int kind, const __m256d *v, __m256d *e) {
  __m256d a[ACT_VECTORS];
  if (kind == ACT_SILU) {
    EACH a[u] = _mm256_sub_pd(_mm256_setzero_pd(), v[u]);
  } else {
    EACH a[u] = _mm256_mul_pd(_mm256_set1_pd(-2 * GELU_C), _mm256_add_pd(v[u], _mm256_mul_pd(_mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(0.044715), v[u]), v[u]), v[u])));
  }
  expPdN(a, e);
}

/*
 * ACT_STEP floats: pre (and dy when grad) at p and g, results to o; o may be p or g. Forward v/(1 + e): GELU
 * v·σ(2u), SiLU v·σ(v). Gradient with s = 1/(1 + e): GELU dy·(s + 2·v·s·(1 − s)·du/dv), SiLU dy·s·(1 + v·(1 − s)).
 */
ACT_INLINE void actStep(int kind, int grad, const float *p, const float *g, float *o) {
  __m256d v[ACT_VECTORS], e[ACT_VECTORS], r[ACT_VECTORS];
  EACH v[u] = _mm256_cvtps_pd(_mm_loadu_ps(p + 4 * u));
  negSigmoidExpN(kind, v, e);
  const __m256d one = _mm256_set1_pd(1.0);
  if (!grad) {
    EACH r[u] = _mm256_div_pd(v[u], _mm256_add_pd(one, e[u]));
  } else {
    __m256d dy[ACT_VECTORS], s[ACT_VECTORS], oneMinusS[ACT_VECTORS];
    EACH dy[u] = _mm256_cvtps_pd(_mm_loadu_ps(g + 4 * u));
    EACH s[u] = _mm256_div_pd(one, _mm256_add_pd(one, e[u]));
    EACH oneMinusS[u] = _mm256_sub_pd(one, s[u]);
    if (kind == ACT_SILU) {
      EACH r[u] = _mm256_mul_pd(_mm256_mul_pd(dy[u], s[u]), _mm256_add_pd(one, _mm256_mul_pd(v[u], oneMinusS[u])));
    } else {
      EACH {
        const __m256d du = _mm256_mul_pd(_mm256_set1_pd(GELU_C), _mm256_add_pd(one, _mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(3 * 0.044715), v[u]), v[u])));
        const __m256d t = _mm256_mul_pd(_mm256_mul_pd(_mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(2.0), v[u]), s[u]), oneMinusS[u]), du);
        r[u] = _mm256_mul_pd(dy[u], _mm256_add_pd(s[u], t));
      }
    }
  }
  EACH _mm_storeu_ps(o + 4 * u, _mm256_cvtpd_ps(r[u]));
}

/* One specialised loop per kind and direction; the last n % ACT_STEP elements go through the same code on a
 * zero-padded copy, so they round exactly alike. */
ACT_INLINE void activationLoop(int kind, int grad, const float *pre, const float *dy, float *out, size_t n) {
  size_t i = 0;
  for (; i + ACT_STEP <= n; i += ACT_STEP) actStep(kind, grad, pre + i, grad ? dy + i : NULL, out + i);
  if (i < n) {
    float p[ACT_STEP] = {0}, g[ACT_STEP] = {0}, o[ACT_STEP];
    memcpy(p, pre + i, (n - i) * sizeof(float));
    if (grad) memcpy(g, dy + i, (n - i) * sizeof(float));
    actStep(kind, grad, p, g, o);
    memcpy(out + i, o, (n - i) * sizeof(float));
  }
}
AVX2 static void activationAvx2(int kind, int grad, const float *pre, const float *dy, float *out, size_t n) {
  if (kind == ACT_SILU) {
    if (grad) activationLoop(ACT_SILU, 1, pre, dy, out, n);
    else activationLoop(ACT_SILU, 0, pre, dy, out, n);
  } else {
    if (grad) activationLoop(ACT_GELU, 1, pre, dy, out, n);
    else activationLoop(ACT_GELU, 0, pre, dy, out, n);
  }
}

/* Asked once per process; every thread that races here writes the same answer. */
static int cpuSupported(void) {
  static int known = -1;
  if (known < 0) {
    __builtin_cpu_init();
    known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return known;
}
#else
static int cpuSupported(void) { return 0; }
#endif

/*
 * LayerNorm over rows of `width` floats (layers/layernorm.ts's loops, the reference), in float64 with the
 * reference's operation order (sums in four lanes i mod 4, remainder into lane 0, combined s0 + s1 + (s2 + s3);
 * backward's in two lanes) and no fused multiply-adds, so y, xHat, invStd, dx, dGamma and dBeta come out bit for bit
 * what the JavaScript writes. Plain C (AVX2 where x86): the per-element passes vectorize, the lanes are the JS's.
 */
#ifdef LOOM_X86
#define ROWS AVX2
#else
#define ROWS
#endif
ROWS static double rowSum4(const float *a, int n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i];
    s1 += a[i + 1];
    s2 += a[i + 2];
    s3 += a[i + 3];
  }
  for (; i < n; i++) s0 += a[i];
  return s0 + s1 + (s2 + s3);
}

ROWS static double rowSquaredDeviations4(const float *a, int n, double mean) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const double c0 = a[i] - mean, c1 = a[i + 1] - mean, c2 = a[i + 2] - mean, c3 = a[i + 3] - mean;
    s0 += c0 * c0;
    s1 += c1 * c1;
    s2 += c2 * c2;
    s3 += c3 * c3;
  }
  for (; i < n; i++) {
    const double c = a[i] - mean;
    s0 += c * c;
  }
  return s0 + s1 + (s2 + s3);
}

ROWS static void layerNormRows(const float *x, const float *g, const float *b, float *y, float *xHat, float *invStd, int rows, int d, double epsilon) {
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (size_t)r * d;
    float *hr = xHat + (size_t)r * d, *yr = y + (size_t)r * d;
    const double mean = rowSum4(xr, d) / d;
    const double variance = rowSquaredDeviations4(xr, d, mean) / d;
    const double inv = 1 / __builtin_sqrt(variance + epsilon);
    invStd[r] = (float)inv;
    for (int i = 0; i < d; i++) {
      const double h = (xr[i] - mean) * inv;
      hr[i] = (float)h;
      yr[i] = (float)((double)g[i] * h + b[i]);
    }
  }
}

ROWS static void layerNormBackwardRows(const float *dy, const float *xHat, const float *invStd, const float *g, float *dx, float *dg, float *db, int rows, int d) {
  for (int r = 0; r < rows; r++) {
    const float *dr = dy + (size_t)r * d, *hr = xHat + (size_t)r * d;
    float *xr = dx + (size_t)r * d;
    double sumG0 = 0, sumG1 = 0, sumGX0 = 0, sumGX1 = 0;
    int i = 0;
    for (; i + 2 <= d; i += 2) {
      const double gy0 = dr[i], gy1 = dr[i + 1], h0 = hr[i], h1 = hr[i + 1];
      dg[i] = (float)(dg[i] + gy0 * h0);
      dg[i + 1] = (float)(dg[i + 1] + gy1 * h1);
      db[i] = (float)(db[i] + gy0);
      db[i + 1] = (float)(db[i + 1] + gy1);
      const double gh0 = gy0 * g[i], gh1 = gy1 * g[i + 1];
      sumG0 += gh0;
      sumG1 += gh1;
      sumGX0 += gh0 * h0;
      sumGX1 += gh1 * h1;
    }
    if (i < d) {
      const double gy = dr[i], h = hr[i];
      dg[i] = (float)(dg[i] + gy * h);
      db[i] = (float)(db[i] + gy);
      const double gh = gy * g[i];
      sumG0 += gh;
      sumGX0 += gh * h;
    }
    const double meanG = (sumG0 + sumG1) / d, meanGX = (sumGX0 + sumGX1) / d;
    const double inv = invStd[r];
    for (int j = 0; j < d; j++) {
      const double gh = (double)dr[j] * g[j];
      xr[j] = (float)(inv * (gh - meanG - (double)hr[j] * meanGX));
    }
  }
}

/*
 * Convolution's unrolling (src/engine/backend/cpu-conv2d.ts's im2col and col2imAdd, the reference) and its bias
 * gradient, for one sample. Geometry g: inC, inH, inW, kH, kW, strideH, strideW, padH, padW, outH, outW. The
 * JavaScript loops cost a third of a conv stem's step (a bounds-free copy and an add per unrolled entry, but scalar);
 * here the copies are memcpy and the adds vectorize.
 */
enum { G_INC, G_INH, G_INW, G_KH, G_KW, G_SH, G_SW, G_PH, G_PW, G_OH, G_OW, G_COUNT };

/* The output columns [lo, hi) of kernel column j whose input column ow·strideW + j − padW lies inside the image. */
static void convValidColumns(const int32_t *g, int j, int *lo, int *hi) {
  const int inW = g[G_INW], sw = g[G_SW], pw = g[G_PW], ow = g[G_OW];
  int l = pw - j <= 0 ? 0 : (pw - j + sw - 1) / sw;
  if (l > ow) l = ow;
  int h = inW - 1 + pw - j < 0 ? 0 : (inW - 1 + pw - j) / sw + 1;
  if (h > ow) h = ow;
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

/* cols[(c·kH + i)·kW + j][oh·outW + ow] = x[c][oh·strideH + i − padH][ow·strideW + j − padW], 0 outside the image. */
static void im2colSample(const float *x, const int32_t *g, float *cols) {
  const int inC = g[G_INC], inH = g[G_INH], inW = g[G_INW], kH = g[G_KH], kW = g[G_KW], sh = g[G_SH], sw = g[G_SW], ph = g[G_PH], pw = g[G_PW], outH = g[G_OH], outW = g[G_OW];
  const size_t positions = (size_t)outH * outW;
  size_t row = 0;
  for (int c = 0; c < inC; c++) {
    const float *plane = x + (size_t)c * inH * inW;
    for (int i = 0; i < kH; i++) {
      for (int j = 0; j < kW; j++, row++) {
        int lo, hi;
        convValidColumns(g, j, &lo, &hi);
        float *out = cols + row * positions;
        for (int oh = 0; oh < outH; oh++, out += outW) {
          const int ih = oh * sh + i - ph;
          if (ih < 0 || ih >= inH) {
            memset(out, 0, sizeof(float) * outW);
            continue;
          }
          for (int ow = 0; ow < lo; ow++) out[ow] = 0;
          const float *src = plane + (size_t)ih * inW + j - pw;
          if (sw == 1) memcpy(out + lo, src + lo, sizeof(float) * (hi - lo));
          else for (int ow = lo; ow < hi; ow++) out[ow] = src[(size_t)ow * sw];
          for (int ow = hi; ow < outW; ow++) out[ow] = 0;
        }
      }
    }
  }
}

/* The adjoint of im2colSample: dx[c][ih][iw] += every unrolled entry copied from it, in the reference's row order. */
ROWS static void col2imAddSample(const float *cols, const int32_t *g, float *dx) {
  const int inC = g[G_INC], inH = g[G_INH], inW = g[G_INW], kH = g[G_KH], kW = g[G_KW], sh = g[G_SH], sw = g[G_SW], ph = g[G_PH], pw = g[G_PW], outH = g[G_OH], outW = g[G_OW];
  const size_t positions = (size_t)outH * outW;
  size_t row = 0;
  for (int c = 0; c < inC; c++) {
    float *plane = dx + (size_t)c * inH * inW;
    for (int i = 0; i < kH; i++) {
      for (int j = 0; j < kW; j++, row++) {
        int lo, hi;
        convValidColumns(g, j, &lo, &hi);
        const float *src = cols + row * positions;
        for (int oh = 0; oh < outH; oh++, src += outW) {
          const int ih = oh * sh + i - ph;
          if (ih < 0 || ih >= inH) continue;
          float *dst = plane + (size_t)ih * inW + j - pw;
          if (sw == 1) for (int ow = lo; ow < hi; ow++) dst[ow] += src[ow];
          else for (int ow = lo; ow < hi; ow++) dst[(size_t)ow * sw] += src[ow];
        }
      }
    }
  }
}

/* db[f] += Σ_p dy[f·positions + p], summed in float64 in four lanes (p mod 4) so the loop vectorizes. */
ROWS static void biasGradAddRows(const float *dy, float *db, int channels, int positions) {
  for (int f = 0; f < channels; f++) {
    const float *row = dy + (size_t)f * positions;
    db[f] = (float)(db[f] + rowSum4(row, positions));
  }
}

/*
 * 2×2 max pooling of `planes` planes of h×w floats (src/engine/backend/cpu-pool.ts, the reference): y the window
 * maxima, argmax the index into x of each winner, the first of (0,0), (0,1), (1,0), (1,1) on ties, NaN never
 * displacing a value. The selects compile to conditional moves: which element of a window wins is a coin toss that a
 * branch predictor loses half the time (the JavaScript loop's cost).
 */
static void maxPool2x2Planes(const float *x, float *y, int32_t *argmax, int planes, int h, int w) {
  const int oh = h / 2, ow = w / 2;
  size_t o = 0;
  for (int p = 0; p < planes; p++) {
    const size_t base = (size_t)p * h * w;
    for (int r = 0; r < oh; r++) {
      const size_t row0 = base + (size_t)2 * r * w, row1 = row0 + w;
      for (int q = 0; q < ow; q++) {
        size_t best = row0 + (size_t)2 * q;
        float bestValue = x[best];
        const size_t i1 = best + 1, i2 = row1 + (size_t)2 * q, i3 = i2 + 1;
        const float v1 = x[i1], v2 = x[i2], v3 = x[i3];
        int larger = v1 > bestValue;
        best = larger ? i1 : best;
        bestValue = larger ? v1 : bestValue;
        larger = v2 > bestValue;
        best = larger ? i2 : best;
        bestValue = larger ? v2 : bestValue;
        larger = v3 > bestValue;
        best = larger ? i3 : best;
        bestValue = larger ? v3 : bestValue;
        y[o] = bestValue;
        argmax[o++] = (int32_t)best;
      }
    }
  }
}

#ifdef LOOM_X86
/*
 * maxPool2x2Planes with AVX2: eight outputs of a row at once. Sixteen floats of each input row are split into their
 * even and odd columns, and the window's four candidates are compared in the scalar loop's order with ordered
 * greater-than (NaN never wins, ties keep the first), so y and argmax are the scalar loop's, bit for bit. The last
 * ow mod 8 outputs of a row (all of a row narrower than 8) use masked loads and stores: nothing outside the row's
 * windows is read or written.
 */
AVX2 static inline __m256 evenColumns(__m256 a, __m256 b) {
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))), _MM_SHUFFLE(3, 1, 2, 0)));
}
AVX2 static inline __m256 oddColumns(__m256 a, __m256 b) {
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))), _MM_SHUFFLE(3, 1, 2, 0)));
}
AVX2 static inline void poolSelect(__m256 v, __m256i idx, __m256 *best, __m256i *bestIdx) {
  const __m256 larger = _mm256_cmp_ps(v, *best, _CMP_GT_OQ);
  *best = _mm256_blendv_ps(*best, v, larger);
  *bestIdx = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(*bestIdx), _mm256_castsi256_ps(idx), larger));
}
/* All-ones in the lanes below n (n may be ≤ 0 or ≥ 8). */
AVX2 static inline __m256i lanesBelow(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
/* Outputs q … q+7 of one row (only the first `count` of them read and written when count < 8). */
AVX2 static inline void pool8(const float *x, size_t row0, size_t row1, int q, int count, __m256i down, float *y, int32_t *argmax) {
  const float *a = x + row0 + 2 * (size_t)q, *b = x + row1 + 2 * (size_t)q;
  __m256 a0, a1, b0, b1;
  if (count >= 8) {
    a0 = _mm256_loadu_ps(a), a1 = _mm256_loadu_ps(a + 8), b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
  } else {
    const __m256i lo = lanesBelow(2 * count), hi = lanesBelow(2 * count - 8);
    a0 = _mm256_maskload_ps(a, lo), a1 = _mm256_maskload_ps(a + 8, hi), b0 = _mm256_maskload_ps(b, lo), b1 = _mm256_maskload_ps(b + 8, hi);
  }
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i i0 = _mm256_add_epi32(_mm256_set1_epi32((int32_t)(row0 + 2 * (size_t)q)), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
  __m256 best = evenColumns(a0, a1);
  __m256i bestIdx = i0;
  poolSelect(oddColumns(a0, a1), _mm256_add_epi32(i0, one), &best, &bestIdx);
  const __m256i i2 = _mm256_add_epi32(i0, down);
  poolSelect(evenColumns(b0, b1), i2, &best, &bestIdx);
  poolSelect(oddColumns(b0, b1), _mm256_add_epi32(i2, one), &best, &bestIdx);
  if (count >= 8) {
    _mm256_storeu_ps(y + q, best);
    _mm256_storeu_si256((__m256i *)(argmax + q), bestIdx);
  } else {
    const __m256i keep = lanesBelow(count);
    _mm256_maskstore_ps(y + q, keep, best);
    _mm256_maskstore_epi32(argmax + q, keep, bestIdx);
  }
}
AVX2 static void maxPool2x2PlanesAvx2(const float *x, float *y, int32_t *argmax, int planes, int h, int w) {
  const int oh = h / 2, ow = w / 2;
  const __m256i down = _mm256_set1_epi32(w);
  size_t o = 0;
  for (int p = 0; p < planes; p++) {
    const size_t base = (size_t)p * h * w;
    for (int r = 0; r < oh; r++, o += ow) {
      const size_t row0 = base + (size_t)2 * r * w, row1 = row0 + w;
      for (int q = 0; q < ow; q += 8) pool8(x, row0, row1, q, ow - q, down, y + o, argmax + o);
    }
  }
}
#endif

/* ---- Node-API glue ---- */

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, "LOOM_ERR_BACKEND", message);
  return NULL;
}

/* A Float32Array argument: its data (already at its byteOffset) and length in floats; 0 when it is not one. */
static int floatArray(napi_env env, napi_value v, float **data, size_t *length) {
  napi_typedarray_type type;
  void *raw;
  if (napi_get_typedarray_info(env, v, &type, length, &raw, NULL, NULL) != napi_ok || type != napi_float32_array) return 0;
  *data = (float *)raw;
  return 1;
}

static void freeScratch(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Scratch *s = (Scratch *)data;
  free(s->a);
  free(s->b);
  free(s);
}

/* sgemm(a, aOffset, b, bOffset, c, cOffset, m, n, k, flags): flags bit 0 transA, bit 1 transB, bit 2 accumulate. */
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 10) return fail(env, "sgemm: needs 10 arguments");
  float *a, *b, *c;
  size_t aLen, bLen, cLen;
  if (!floatArray(env, argv[0], &a, &aLen) || !floatArray(env, argv[2], &b, &bLen) || !floatArray(env, argv[4], &c, &cLen)) {
    return fail(env, "sgemm: a, b and c must be Float32Arrays");
  }
  int32_t ints[7];
  const int at[7] = {1, 3, 5, 6, 7, 8, 9};
  for (int i = 0; i < 7; i++) {
    if (napi_get_value_int32(env, argv[at[i]], &ints[i]) != napi_ok || ints[i] < 0) return fail(env, "sgemm: offsets, sizes and flags must be non-negative integers");
  }
  const int64_t aOff = ints[0], bOff = ints[1], cOff = ints[2], m = ints[3], n = ints[4], k = ints[5];
  const int flags = ints[6];
  /* The TypeScript side checks too; this check is what keeps a bad call from touching memory it does not own. */
  if (aOff + m * k > (int64_t)aLen || bOff + k * n > (int64_t)bLen || cOff + m * n > (int64_t)cLen) return fail(env, "sgemm: an operand is shorter than the product needs");
  if (m == 0 || n == 0) return NULL;
#ifdef LOOM_X86
  if (!cpuSupported()) return fail(env, "sgemm: this CPU lacks AVX2/FMA");
  Scratch *s;
  if (napi_get_instance_data(env, (void **)&s) != napi_ok || s == NULL) return fail(env, "sgemm: no scratch memory");
  sgemmAvx2(s, a + aOff, b + bOff, c + cOff, (int)m, (int)n, (int)k, flags & 1, (flags >> 1) & 1, (flags >> 2) & 1);
  return NULL;
#else
  (void)flags;
  return fail(env, "sgemm: built without the x86 AVX2 kernel");
#endif
}

/* adamw(w, g, m, v, b1, b2, eps, stepSize, invSqrtC2, decay): w, m and v updated in place, all of one length. */
static napi_value Adamw(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 10) return fail(env, "adamw: needs 10 arguments");
  float *arr[4];
  size_t len[4];
  for (int i = 0; i < 4; i++) {
    if (!floatArray(env, argv[i], &arr[i], &len[i])) return fail(env, "adamw: w, g, m and v must be Float32Arrays");
    if (len[i] != len[0]) return fail(env, "adamw: w, g, m and v must have one length");
  }
  double h[6];
  for (int i = 0; i < 6; i++) {
    if (napi_get_value_double(env, argv[4 + i], &h[i]) != napi_ok) return fail(env, "adamw: hyperparameters must be numbers");
  }
#ifdef LOOM_X86
  if (!cpuSupported()) return fail(env, "adamw: this CPU lacks AVX2/FMA");
  adamwAvx2(arr[0], arr[1], arr[2], arr[3], len[0], h);
  return NULL;
#else
  return fail(env, "adamw: built without the x86 AVX2 kernel");
#endif
}

/* lstmForward(x, kernel, recurrent, bias, hs, cs, gates, cellTanh, batch, seq, inSize, hidden); hidden % 8 == 0. */
static napi_value LstmForward(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 12) return fail(env, "lstmForward: needs 12 arguments");
  float *arr[8];
  size_t len[8];
  for (int i = 0; i < 8; i++) {
    if (!floatArray(env, argv[i], &arr[i], &len[i])) return fail(env, "lstmForward: x, kernel, recurrent, bias, hs, cs, gates and cellTanh must be Float32Arrays");
  }
  int32_t dims[4];
  for (int i = 0; i < 4; i++) {
    if (napi_get_value_int32(env, argv[8 + i], &dims[i]) != napi_ok || dims[i] <= 0) return fail(env, "lstmForward: sizes must be positive integers");
  }
  const int64_t batch = dims[0], seq = dims[1], inSize = dims[2], h = dims[3], g4 = 4 * h, step = batch * h;
  if (h % 8 != 0) return fail(env, "lstmForward: hidden must be a multiple of 8");
  const int64_t need[8] = {batch * seq * inSize, inSize * g4, h * g4, g4, (seq + 1) * step, (seq + 1) * step, seq * batch * g4, seq * step};
  for (int i = 0; i < 8; i++) {
    if ((int64_t)len[i] < need[i]) return fail(env, "lstmForward: an array is shorter than the sizes need");
  }
#ifdef LOOM_X86
  if (!cpuSupported()) return fail(env, "lstmForward: this CPU lacks AVX2/FMA");
  Scratch *s;
  if (napi_get_instance_data(env, (void **)&s) != napi_ok || s == NULL) return fail(env, "lstmForward: no scratch memory");
  float *xw = (float *)malloc(sizeof(float) * (size_t)(batch * seq * g4));
  if (xw == NULL) return fail(env, "lstmForward: out of memory");
  lstmAvx2(s, arr[0], arr[1], arr[2], arr[3], xw, arr[4], arr[5], arr[6], arr[7], (int)batch, (int)seq, (int)inSize, (int)h);
  free(xw);
  return NULL;
#else
  return fail(env, "lstmForward: built without the x86 AVX2 kernel");
#endif
}

/* Reads n Float32Arrays from argv[0..n) and then m non-negative int32s; 0 (with an exception pending) on a bad one. */
static int readArgs(napi_env env, napi_callback_info info, const char *name, size_t want, napi_value *argv, int nArrays, float **arr, size_t *len,
                    int nInts, int32_t *ints) {
  size_t argc = want;
  char message[160];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != want) {
    snprintf(message, sizeof message, "%s: needs %zu arguments", name, want);
    fail(env, message);
    return 0;
  }
  for (int i = 0; i < nArrays; i++) {
    if (!floatArray(env, argv[i], &arr[i], &len[i])) {
      snprintf(message, sizeof message, "%s: argument %d must be a Float32Array", name, i + 1);
      fail(env, message);
      return 0;
    }
  }
  for (int i = 0; i < nInts; i++) {
    if (napi_get_value_int32(env, argv[nArrays + i], &ints[i]) != napi_ok || ints[i] < 0) {
      snprintf(message, sizeof message, "%s: argument %d must be a non-negative integer", name, nArrays + i + 1);
      fail(env, message);
      return 0;
    }
  }
  return 1;
}

/* Checks the attention sizes against the arrays: q-like arrays hold qLen, k-like kvLen, probs pLen. */
static int attentionSizesOk(const int32_t *d, const size_t *len, const char *kinds) {
  const int64_t batch = d[0], heads = d[1], kvHeads = d[2], seqQ = d[3], seqK = d[4], headDim = d[5];
  if (kvHeads < 1 || heads % kvHeads != 0) return 0;
  const int64_t qLen = batch * seqQ * heads * headDim, kvLen = batch * seqK * kvHeads * headDim, pLen = batch * heads * seqQ * seqK;
  for (int i = 0; kinds[i]; i++) {
    const int64_t need = kinds[i] == 'q' ? qLen : kinds[i] == 'k' ? kvLen : pLen;
    if ((int64_t)len[i] < need) return 0;
  }
  return 1;
}

/* attention(q, k, v, out, probs, batch, heads, kvHeads, seqQ, seqK, headDim, causal, scale) */
static napi_value Attention(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  float *arr[5];
  size_t len[5];
  int32_t d[7];
  if (!readArgs(env, info, "attention", 13, argv, 5, arr, len, 7, d)) return NULL;
  double scale;
  if (napi_get_value_double(env, argv[12], &scale) != napi_ok) return fail(env, "attention: scale must be a number");
  if (!attentionSizesOk(d, len, "qkkqp")) return fail(env, "attention: sizes do not match the arrays (or kvHeads does not divide heads)");
#ifdef LOOM_X86
  if (!cpuSupported()) return fail(env, "attention: this CPU lacks AVX2/FMA");
  const size_t pad = (size_t)seqKPad(d[4]);
  float *scratch = (float *)malloc(sizeof(float) * pad * (1 + (size_t)d[5]));
  if (scratch == NULL) return fail(env, "attention: out of memory");
  attentionAvx2(arr[0], arr[1], arr[2], arr[3], arr[4], d[0], d[1], d[2], d[3], d[4], d[5], d[6], (float)scale, scratch, scratch + pad);
  free(scratch);
  return NULL;
#else
  return fail(env, "attention: built without the x86 AVX2 kernel");
#endif
}

/* attentionBackward(q, k, v, probs, dOut, dq, dk, dv, batch, heads, kvHeads, seqQ, seqK, headDim, scale) */
static napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  napi_value argv[15];
  float *arr[8];
  size_t len[8];
  int32_t d[6];
  if (!readArgs(env, info, "attentionBackward", 15, argv, 8, arr, len, 6, d)) return NULL;
  double scale;
  if (napi_get_value_double(env, argv[14], &scale) != napi_ok) return fail(env, "attentionBackward: scale must be a number");
  if (!attentionSizesOk(d, len, "qkkpqqkk")) return fail(env, "attentionBackward: sizes do not match the arrays (or kvHeads does not divide heads)");
#ifdef LOOM_X86
  if (!cpuSupported()) return fail(env, "attentionBackward: this CPU lacks AVX2/FMA");
  const size_t pad = (size_t)seqKPad(d[4]), dsSize = (size_t)d[3] * d[4];
  float *scratch = (float *)malloc(sizeof(float) * (dsSize + pad + (size_t)d[3] + pad * (size_t)d[5]));
  if (scratch == NULL) return fail(env, "attentionBackward: out of memory");
  attentionBackwardAvx2(arr[0], arr[1], arr[2], arr[3], arr[4], arr[5], arr[6], arr[7], d[0], d[1], d[2], d[3], d[4], d[5], (float)scale, scratch, scratch + dsSize,
                        scratch + dsSize + pad, scratch + dsSize + pad + d[3]);
  free(scratch);
  return NULL;
#else
  return fail(env, "attentionBackward: built without the x86 AVX2 kernel");
#endif
}

/* layerNorm(x, gamma, beta, y, xHat, invStd, rows, width, epsilon) */
static napi_value LayerNorm(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  float *arr[6];
  size_t len[6];
  int32_t d[2];
  if (!readArgs(env, info, "layerNorm", 9, argv, 6, arr, len, 2, d)) return NULL;
  double epsilon;
  if (napi_get_value_double(env, argv[8], &epsilon) != napi_ok) return fail(env, "layerNorm: epsilon must be a number");
  const size_t n = (size_t)d[0] * d[1];
  if (d[1] < 1 || len[0] < n || len[1] < (size_t)d[1] || len[2] < (size_t)d[1] || len[3] < n || len[4] < n || len[5] < (size_t)d[0]) {
    return fail(env, "layerNorm: sizes do not match the arrays");
  }
  layerNormRows(arr[0], arr[1], arr[2], arr[3], arr[4], arr[5], d[0], d[1], epsilon);
  return NULL;
}

/* layerNormBackward(dy, xHat, invStd, gamma, dx, dGamma, dBeta, rows, width): dx overwritten, dGamma and dBeta added to */
static napi_value LayerNormBackward(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  float *arr[7];
  size_t len[7];
  int32_t d[2];
  if (!readArgs(env, info, "layerNormBackward", 9, argv, 7, arr, len, 2, d)) return NULL;
  const size_t n = (size_t)d[0] * d[1], w = (size_t)d[1];
  if (d[1] < 1 || len[0] < n || len[1] < n || len[2] < (size_t)d[0] || len[3] < w || len[4] < n || len[5] < w || len[6] < w) {
    return fail(env, "layerNormBackward: sizes do not match the arrays");
  }
  layerNormBackwardRows(arr[0], arr[1], arr[2], arr[3], arr[4], arr[5], arr[6], d[0], d[1]);
  return NULL;
}

/* activation(pre, out, kind) and activationGrad(pre, dy, out, kind): kind 0 GELU, 1 SiLU; all arrays of one length. */
static napi_value activationCall(napi_env env, napi_callback_info info, int grad) {
  const char *name = grad ? "activationGrad" : "activation";
  const int nArrays = grad ? 3 : 2;
  napi_value argv[4];
  float *arr[3];
  size_t len[3];
  int32_t kind;
  if (!readArgs(env, info, name, (size_t)nArrays + 1, argv, nArrays, arr, len, 1, &kind)) return NULL;
  if (kind != 0 && kind != 1) return fail(env, grad ? "activationGrad: kind must be 0 (gelu) or 1 (silu)" : "activation: kind must be 0 (gelu) or 1 (silu)");
  for (int i = 1; i < nArrays; i++) {
    if (len[i] != len[0]) return fail(env, grad ? "activationGrad: pre, dy and out must have one length" : "activation: pre and out must have one length");
  }
#ifdef LOOM_X86
  if (!cpuSupported()) return fail(env, "activation: this CPU lacks AVX2/FMA");
  activationAvx2(kind, grad, arr[0], grad ? arr[1] : NULL, arr[nArrays - 1], len[0]);
  return NULL;
#else
  return fail(env, "activation: built without the x86 AVX2 kernel");
#endif
}

/* maxPool2x2(x, y, argmax, planes, h, w): argmax an Int32Array; x holds planes·h·w, y and argmax planes·⌊h/2⌋·⌊w/2⌋. */
static napi_value MaxPool2x2(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  float *arr[2];
  size_t len[2];
  int32_t d[3];
  size_t argc = 6;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6) return fail(env, "maxPool2x2: needs 6 arguments");
  if (!floatArray(env, argv[0], &arr[0], &len[0]) || !floatArray(env, argv[1], &arr[1], &len[1])) return fail(env, "maxPool2x2: x and y must be Float32Arrays");
  napi_typedarray_type type;
  size_t argmaxLength;
  void *raw;
  if (napi_get_typedarray_info(env, argv[2], &type, &argmaxLength, &raw, NULL, NULL) != napi_ok || type != napi_int32_array) return fail(env, "maxPool2x2: argmax must be an Int32Array");
  for (int i = 0; i < 3; i++) {
    if (napi_get_value_int32(env, argv[3 + i], &d[i]) != napi_ok || d[i] < 0) return fail(env, "maxPool2x2: planes, h and w must be non-negative integers");
  }
  const size_t in = (size_t)d[0] * d[1] * d[2], out = (size_t)d[0] * (d[1] / 2) * (d[2] / 2);
  if (len[0] < in || len[1] < out || argmaxLength < out) return fail(env, "maxPool2x2: sizes do not match the arrays");
  if (in > 0x7fffffff) return fail(env, "maxPool2x2: x is too large for int32 indices");
#ifdef LOOM_X86
  if (cpuSupported()) {
    maxPool2x2PlanesAvx2(arr[0], arr[1], (int32_t *)raw, d[0], d[1], d[2]);
    return NULL;
  }
#endif
  maxPool2x2Planes(arr[0], arr[1], (int32_t *)raw, d[0], d[1], d[2]);
  return NULL;
}

/* A convolution geometry (inC … outW, see im2colSample) that is consistent: what keeps the loops inside the arrays. */
static int convGeometryOk(const int32_t *g) {
  for (int i = 0; i < G_COUNT; i++) {
    if (g[i] < 0) return 0;
  }
  if (g[G_INC] < 1 || g[G_INH] < 1 || g[G_INW] < 1 || g[G_KH] < 1 || g[G_KW] < 1 || g[G_SH] < 1 || g[G_SW] < 1) return 0;
  const int64_t spanH = (int64_t)g[G_INH] + 2 * (int64_t)g[G_PH] - g[G_KH], spanW = (int64_t)g[G_INW] + 2 * (int64_t)g[G_PW] - g[G_KW];
  if (spanH < 0 || spanW < 0 || g[G_OH] != spanH / g[G_SH] + 1 || g[G_OW] != spanW / g[G_SW] + 1) return 0;
  return (int64_t)g[G_INC] * g[G_KH] * g[G_KW] * g[G_OH] * g[G_OW] <= 0x7fffffff && (int64_t)g[G_INC] * g[G_INH] * g[G_INW] <= 0x7fffffff;
}

/*
 * im2col(x, cols, xOffset, inC, inH, inW, kH, kW, strideH, strideW, padH, padW, outH, outW): one sample at xOffset
 * unrolled into cols; col2imAdd(cols, dx, dxOffset, the same geometry): its adjoint, added onto dx at dxOffset.
 */
static napi_value convUnrollCall(napi_env env, napi_callback_info info, int adjoint) {
  const char *name = adjoint ? "col2imAdd" : "im2col";
  napi_value argv[3 + G_COUNT];
  float *arr[2];
  size_t len[2];
  int32_t ints[1 + G_COUNT];
  if (!readArgs(env, info, name, 3 + G_COUNT, argv, 2, arr, len, 1 + G_COUNT, ints)) return NULL;
  const int32_t *g = ints + 1;
  char message[160];
  if (!convGeometryOk(g)) {
    snprintf(message, sizeof message, "%s: the geometry is inconsistent (output size, kernel, strides or padding)", name);
    return fail(env, message);
  }
  const size_t image = (size_t)g[G_INC] * g[G_INH] * g[G_INW], unrolled = (size_t)g[G_INC] * g[G_KH] * g[G_KW] * g[G_OH] * g[G_OW];
  const size_t imageLength = adjoint ? len[1] : len[0], colsLength = adjoint ? len[0] : len[1];
  if ((size_t)ints[0] + image > imageLength || unrolled > colsLength) {
    snprintf(message, sizeof message, "%s: an array is shorter than the geometry needs", name);
    return fail(env, message);
  }
  if (adjoint) col2imAddSample(arr[0], g, arr[1] + ints[0]);
  else im2colSample(arr[0] + ints[0], g, arr[1]);
  return NULL;
}

static napi_value Im2col(napi_env env, napi_callback_info info) { return convUnrollCall(env, info, 0); }
static napi_value Col2imAdd(napi_env env, napi_callback_info info) { return convUnrollCall(env, info, 1); }

/* biasGradAdd(dy, db, dyOffset, channels, positions): db[f] += the sum of dy's row f (channels rows from dyOffset). */
static napi_value BiasGradAdd(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  float *arr[2];
  size_t len[2];
  int32_t d[3];
  if (!readArgs(env, info, "biasGradAdd", 5, argv, 2, arr, len, 3, d)) return NULL;
  if ((size_t)d[0] + (size_t)d[1] * d[2] > len[0] || (size_t)d[1] > len[1]) return fail(env, "biasGradAdd: an array is shorter than the sizes need");
  biasGradAddRows(arr[0] + d[0], arr[1], d[1], d[2]);
  return NULL;
}

static napi_value Activation(napi_env env, napi_callback_info info) { return activationCall(env, info, 0); }
static napi_value ActivationGrad(napi_env env, napi_callback_info info) { return activationCall(env, info, 1); }

static napi_value Supported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, cpuSupported(), &result);
  return result;
}

NAPI_MODULE_INIT() {
  Scratch *s = (Scratch *)calloc(1, sizeof(Scratch));
  if (s == NULL) return NULL;
  /* 64-byte aligned, sizes multiples of 64 as aligned_alloc requires. */
  s->a = (float *)aligned_alloc(64, sizeof(float) * MC * KC);
  s->b = (float *)aligned_alloc(64, sizeof(float) * KC * NC);
  if (s->a == NULL || s->b == NULL || napi_set_instance_data(env, s, freeScratch, NULL) != napi_ok) {
    freeScratch(env, s, NULL);
    return NULL;
  }
  napi_value fn;
  napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, Sgemm, NULL, &fn);
  napi_set_named_property(env, exports, "sgemm", fn);
  napi_create_function(env, "lstmForward", NAPI_AUTO_LENGTH, LstmForward, NULL, &fn);
  napi_set_named_property(env, exports, "lstmForward", fn);
  napi_create_function(env, "attention", NAPI_AUTO_LENGTH, Attention, NULL, &fn);
  napi_set_named_property(env, exports, "attention", fn);
  napi_create_function(env, "attentionBackward", NAPI_AUTO_LENGTH, AttentionBackward, NULL, &fn);
  napi_set_named_property(env, exports, "attentionBackward", fn);
  napi_create_function(env, "adamw", NAPI_AUTO_LENGTH, Adamw, NULL, &fn);
  napi_set_named_property(env, exports, "adamw", fn);
  napi_create_function(env, "layerNorm", NAPI_AUTO_LENGTH, LayerNorm, NULL, &fn);
  napi_set_named_property(env, exports, "layerNorm", fn);
  napi_create_function(env, "layerNormBackward", NAPI_AUTO_LENGTH, LayerNormBackward, NULL, &fn);
  napi_set_named_property(env, exports, "layerNormBackward", fn);
  napi_create_function(env, "activation", NAPI_AUTO_LENGTH, Activation, NULL, &fn);
  napi_set_named_property(env, exports, "activation", fn);
  napi_create_function(env, "activationGrad", NAPI_AUTO_LENGTH, ActivationGrad, NULL, &fn);
  napi_set_named_property(env, exports, "activationGrad", fn);
  napi_create_function(env, "maxPool2x2", NAPI_AUTO_LENGTH, MaxPool2x2, NULL, &fn);
  napi_set_named_property(env, exports, "maxPool2x2", fn);
  napi_create_function(env, "im2col", NAPI_AUTO_LENGTH, Im2col, NULL, &fn);
  napi_set_named_property(env, exports, "im2col", fn);
  napi_create_function(env, "col2imAdd", NAPI_AUTO_LENGTH, Col2imAdd, NULL, &fn);
  napi_set_named_property(env, exports, "col2imAdd", fn);
  napi_create_function(env, "biasGradAdd", NAPI_AUTO_LENGTH, BiasGradAdd, NULL, &fn);
  napi_set_named_property(env, exports, "biasGradAdd", fn);
  napi_create_function(env, "supported", NAPI_AUTO_LENGTH, Supported, NULL, &fn);
  napi_set_named_property(env, exports, "supported", fn);
  return exports;
}
