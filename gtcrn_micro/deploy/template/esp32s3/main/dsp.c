/* GTCRN-Micro audio front and back end in portable C99; see dsp.h. */
#include "dsp.h"

#include <math.h>
#include <string.h>

#include "erb_tables.h"

#define FFT_M (GTCRN_N_FFT / 2) /* the real FFT runs as a complex FFT of half the length */

static float s_tw_re[FFT_M / 2], s_tw_im[FFT_M / 2];   /* exp(-2 pi i k / M), k < M/2 */
static float s_sp_re[FFT_M + 1], s_sp_im[FFT_M + 1];   /* exp(-2 pi i k / N), k <= M */
static int s_fft_ready = 0;

void gtcrn_fft_init(void) {
    const double pi = 3.14159265358979323846;
    int k;
    if (s_fft_ready) return;
    for (k = 0; k < FFT_M / 2; k++) {
        s_tw_re[k] = (float)cos(2.0 * pi * k / FFT_M);
        s_tw_im[k] = (float)-sin(2.0 * pi * k / FFT_M);
    }
    for (k = 0; k <= FFT_M; k++) {
        s_sp_re[k] = (float)cos(2.0 * pi * k / GTCRN_N_FFT);
        s_sp_im[k] = (float)-sin(2.0 * pi * k / GTCRN_N_FFT);
    }
    s_fft_ready = 1;
}

/* In-place radix-2 complex FFT of FFT_M interleaved values; inverse = conjugate twiddles, no 1/M. */
static void cfft(float *z, int inverse) {
    int i, j, len;
    for (i = 1, j = 0; i < FFT_M; i++) { /* bit-reversal permutation */
        int bit = FFT_M >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            float tr = z[2 * i], ti = z[2 * i + 1];
            z[2 * i] = z[2 * j];
            z[2 * i + 1] = z[2 * j + 1];
            z[2 * j] = tr;
            z[2 * j + 1] = ti;
        }
    }
    for (len = 2; len <= FFT_M; len <<= 1) {
        const int half = len >> 1, step = FFT_M / len;
        for (i = 0; i < FFT_M; i += len) {
            int k;
            for (k = 0; k < half; k++) {
                const float wr = s_tw_re[k * step];
                const float wi = inverse ? -s_tw_im[k * step] : s_tw_im[k * step];
                float *a = z + 2 * (i + k), *b = z + 2 * (i + k + half);
                const float tr = b[0] * wr - b[1] * wi, ti = b[0] * wi + b[1] * wr;
                b[0] = a[0] - tr;
                b[1] = a[1] - ti;
                a[0] += tr;
                a[1] += ti;
            }
        }
    }
}

void gtcrn_rfft(const float *x, float *re, float *im, float *work) {
    int k;
    /* z[n] = x[2n] + i x[2n+1]: the interleaved layout is x itself */
    memcpy(work, x, sizeof(float) * GTCRN_N_FFT);
    cfft(work, 0);
    for (k = 0; k <= FFT_M; k++) {
        const int a = k % FFT_M, b = (FFT_M - k) % FFT_M;
        const float zr = work[2 * a], zi = work[2 * a + 1];
        const float cr = work[2 * b], ci = -work[2 * b + 1];           /* conj(Z[M-k]) */
        const float er = 0.5f * (zr + cr), ei = 0.5f * (zi + ci);      /* even samples' spectrum */
        const float or_ = 0.5f * (zi - ci), oi = -0.5f * (zr - cr);    /* odd samples' spectrum */
        re[k] = er + s_sp_re[k] * or_ - s_sp_im[k] * oi;
        im[k] = ei + s_sp_re[k] * oi + s_sp_im[k] * or_;
    }
}

void gtcrn_irfft(const float *re, const float *im, float *x, float *work) {
    int k;
    const float scale = 1.0f / FFT_M;
    for (k = 0; k < FFT_M; k++) {
        const int b = FFT_M - k;
        const float xr = re[k], xi = (k == 0) ? 0.0f : im[k];
        const float cr = re[b], ci = (b == FFT_M) ? 0.0f : -im[b];      /* conj(X[M-k]) */
        const float er = 0.5f * (xr + cr), ei = 0.5f * (xi + ci);
        const float dr = 0.5f * (xr - cr), di = 0.5f * (xi - ci);
        /* odd spectrum = d * conj(W^k) */
        const float or_ = dr * s_sp_re[k] + di * s_sp_im[k], oi = di * s_sp_re[k] - dr * s_sp_im[k];
        work[2 * k] = er - oi;       /* Z = even + i odd */
        work[2 * k + 1] = ei + or_;
    }
    cfft(work, 1);
    for (k = 0; k < GTCRN_N_FFT; k++) x[k] = work[k] * scale;
}

void gtcrn_dsp_init(gtcrn_dsp_t *d) {
    gtcrn_fft_init();
    memset(d, 0, sizeof(*d));
}

void gtcrn_erb_bm(const float *x, float *y) {
    int b, k;
    for (b = 0; b < GTCRN_ERB_LOW_BINS; b++) y[b] = x[b];
    for (b = 0; b < GTCRN_ERB_HIGH_BANDS; b++) {
        const float *w = kGtcrnErbWeights + kGtcrnErbOffset[b];
        const float *src = x + GTCRN_ERB_LOW_BINS + kGtcrnErbStart[b];
        float acc = 0.0f;
        for (k = 0; k < kGtcrnErbCount[b]; k++) acc += w[k] * src[k];
        y[GTCRN_ERB_LOW_BINS + b] = acc;
    }
}

void gtcrn_erb_bs(const float *x, float *y) {
    int b, k;
    for (b = 0; b < GTCRN_ERB_LOW_BINS; b++) y[b] = x[b];
    for (k = GTCRN_ERB_LOW_BINS; k < GTCRN_N_FREQS; k++) y[k] = 0.0f;
    for (b = 0; b < GTCRN_ERB_HIGH_BANDS; b++) {
        const float *w = kGtcrnErbWeights + kGtcrnErbOffset[b];
        float *dst = y + GTCRN_ERB_LOW_BINS + kGtcrnErbStart[b];
        const float v = x[GTCRN_ERB_LOW_BINS + b];
        for (k = 0; k < kGtcrnErbCount[b]; k++) dst[k] += w[k] * v;
    }
}

void gtcrn_dsp_analyze(gtcrn_dsp_t *d, const float *hop_in, float *feat) {
    int k;
    const float c = GTCRN_COMPRESS_EXPONENT;
    memmove(d->frame, d->frame + GTCRN_HOP, sizeof(float) * (GTCRN_N_FFT - GTCRN_HOP));
    memcpy(d->frame + GTCRN_N_FFT - GTCRN_HOP, hop_in, sizeof(float) * GTCRN_HOP);
    for (k = 0; k < GTCRN_N_FFT; k++) d->buf[k] = d->frame[k] * kGtcrnWindow[k];
    gtcrn_rfft(d->buf, d->spec_re, d->spec_im, d->work);
    for (k = 0; k < GTCRN_N_FREQS; k++) {
        const float re = d->spec_re[k], im = d->spec_im[k];
        /* compress: |S|^c with the phase kept (gain = |S|^(c-1)), then |Sc| */
        const float gain = (c == 1.0f) ? 1.0f : powf(sqrtf(re * re + im * im + GTCRN_EPS), c - 1.0f);
        const float rc = re * gain, ic = im * gain;
        d->chan[0][k] = sqrtf(rc * rc + ic * ic + GTCRN_EPS);
        d->chan[1][k] = rc;
        d->chan[2][k] = ic;
    }
    for (k = 0; k < GTCRN_FEAT_CHANNELS; k++) gtcrn_erb_bm(d->chan[k], feat + k * GTCRN_N_BANDS);
}

void gtcrn_quantize(const float *x, int8_t *q, int n, float scale, int zero_point) {
    int i;
    for (i = 0; i < n; i++) {
#if GTCRN_FEAT_NHWC
        /* x is channel by channel (3 x N_BANDS); the model's feat tensor is (1,1,N_BANDS,3) */
        const int j = (i % GTCRN_N_BANDS) * GTCRN_FEAT_CHANNELS + i / GTCRN_N_BANDS;
#else
        const int j = i;
#endif
        float v = nearbyintf(x[i] / scale) + (float)zero_point; /* round half to even, like numpy */
        if (v < -128.0f) v = -128.0f;
        if (v > 127.0f) v = 127.0f;
        q[j] = (int8_t)v;
    }
}

void gtcrn_dequantize_mask(const int8_t *q, float *mask_re, float *mask_im, float scale, int zero_point) {
    int b;
    for (b = 0; b < GTCRN_N_BANDS; b++) {
#if GTCRN_MASK_NHWC
        const int8_t qr = q[2 * b], qi = q[2 * b + 1];                 /* (1,1,N_BANDS,2) */
#else
        const int8_t qr = q[b], qi = q[GTCRN_N_BANDS + b];             /* (1,2,1,N_BANDS) */
#endif
        mask_re[b] = (float)(qr - zero_point) * scale;
        mask_im[b] = (float)(qi - zero_point) * scale;
#if GTCRN_MASK_CLAMP /* the graph's mask is unbounded; the model's host part clamps it to [-1, 1] */
        mask_re[b] = fminf(1.0f, fmaxf(-1.0f, mask_re[b]));
        mask_im[b] = fminf(1.0f, fmaxf(-1.0f, mask_im[b]));
#endif
    }
}

void gtcrn_dsp_synthesize(gtcrn_dsp_t *d, const float *mask_re, const float *mask_im, float *hop_out) {
    int k;
    float *mr = d->chan[0], *mi = d->chan[1], *er = d->chan[2], *ei = d->buf;
    gtcrn_erb_bs(mask_re, mr);
    gtcrn_erb_bs(mask_im, mi);
    for (k = 0; k < GTCRN_N_FREQS; k++) {
        const float sr = d->spec_re[k], si = d->spec_im[k];
        er[k] = sr * mr[k] - si * mi[k];
        ei[k] = si * mr[k] + sr * mi[k];
    }
    gtcrn_irfft(er, ei, d->work, d->work); /* reads er, ei before it writes work; output in place */
    for (k = 0; k < GTCRN_N_FFT; k++) d->ola[k] += d->work[k] * kGtcrnWindow[k];
    for (k = 0; k < GTCRN_HOP; k++) hop_out[k] = d->ola[k] / GTCRN_OLA_GAIN;
    memmove(d->ola, d->ola + GTCRN_HOP, sizeof(float) * (GTCRN_N_FFT - GTCRN_HOP));
    memset(d->ola + GTCRN_N_FFT - GTCRN_HOP, 0, sizeof(float) * GTCRN_HOP);
}
