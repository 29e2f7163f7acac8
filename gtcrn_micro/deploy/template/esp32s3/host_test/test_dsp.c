/* Host test of the firmware's audio path (dsp.c) against reference vectors recorded in Python.
 *
 * ref_vectors.bin (written by `gtcrn-micro deploy`): a noisy clip, the features, the int8 features
 * and the int8 mask sequence of the int8 step run by the TFLM interpreter, and the enhanced audio
 * of gtcrn_micro's TFLiteEnhancer path. The interpreter is not part of this test: the recorded
 * int8 masks stand in for it, so everything around it (framing, window, FFT, compression, ERB,
 * quantization, mask, inverse FFT, overlap-add) is checked end to end, one hop at a time.
 *
 * Prints one line per check and ends with "N passed, M failed"; exits 1 if any check failed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp.h"

/* Thresholds: float32 C vs float32 torch (pocketfft) differ by rounding only. */
#define FEAT_TOL 1e-3       /* max |feature error| relative to max |feature| */
#define QFEAT_MAX_LSB 1     /* int8 features may differ by one step where x/scale lands on a rounding tie */
#define QFEAT_MAX_SHARE 0.01 /* ... in at most this share of the values */
#define AUDIO_TOL 1e-4      /* max |audio error| (full scale 1.0) */
#define FFT_TOL 1e-5        /* round trip irfft(rfft(x)) */

static int n_pass = 0, n_fail = 0;

static void check(int ok, const char *what, double value, double limit) {
    printf("%s %-44s %.3g (limit %.3g)\n", ok ? "PASS" : "FAIL", what, value, limit);
    if (ok) n_pass++; else n_fail++;
}

static void *read_block(FILE *f, size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p || fread(p, 1, bytes, f) != bytes) {
        fprintf(stderr, "ref_vectors.bin is truncated\n");
        exit(2);
    }
    return p;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "ref_vectors.bin";
    FILE *f = fopen(path, "rb");
    uint32_t head[6];
    if (!f || fread(head, sizeof(uint32_t), 6, f) != 6 || head[0] != 0x56525447u /* "GTRV" */) {
        fprintf(stderr, "cannot read %s: regenerate the project with `gtcrn-micro deploy`\n", path);
        return 2;
    }
    const uint32_t n_samples = head[2], n_frames = head[3], feat_size = head[4], mask_size = head[5];
    if (feat_size != GTCRN_FEAT_SIZE || mask_size != GTCRN_MASK_SIZE) {
        fprintf(stderr, "ref_vectors.bin does not match model_settings.h\n");
        return 2;
    }
    float *wav = read_block(f, sizeof(float) * n_samples);
    float *feat_ref = read_block(f, sizeof(float) * n_frames * feat_size);
    int8_t *featq_ref = read_block(f, n_frames * feat_size);
    int8_t *mask_ref = read_block(f, n_frames * mask_size);
    float *out_ref = read_block(f, sizeof(float) * n_samples);
    fclose(f);

    /* 1. FFT round trip on the clip's first frame */
    {
        static float x[GTCRN_N_FFT], y[GTCRN_N_FFT], re[GTCRN_N_FREQS], im[GTCRN_N_FREQS], work[GTCRN_N_FFT];
        double err = 0;
        int k;
        gtcrn_fft_init();
        for (k = 0; k < GTCRN_N_FFT; k++) x[k] = k < (int)n_samples ? wav[k] : 0.0f;
        gtcrn_rfft(x, re, im, work);
        gtcrn_irfft(re, im, y, work);
        for (k = 0; k < GTCRN_N_FFT; k++) err = fmax(err, fabs(y[k] - x[k]));
        check(err <= FFT_TOL, "irfft(rfft(x)) max abs error", err, FFT_TOL);
    }

    /* 2. stream the clip hop by hop, exactly as the firmware loop does */
    static gtcrn_dsp_t dsp;
    gtcrn_dsp_init(&dsp);
    const uint32_t front = GTCRN_N_FFT - GTCRN_HOP; /* output = input delayed by the STFT's front padding */
    float *out = calloc((size_t)n_frames * GTCRN_HOP, sizeof(float));
    float hop[GTCRN_HOP], feat[GTCRN_FEAT_SIZE], mask_re[GTCRN_N_BANDS], mask_im[GTCRN_N_BANDS];
    int8_t featq[GTCRN_FEAT_SIZE];
    double feat_err = 0, feat_max = 0;
    long q_diff = 0, q_maxlsb = 0;
    uint32_t t, k;
    for (t = 0; t < n_frames; t++) {
        for (k = 0; k < GTCRN_HOP; k++) {
            const uint32_t i = t * GTCRN_HOP + k;
            hop[k] = i < n_samples ? wav[i] : 0.0f; /* zeros after the clip, as stft() pads */
        }
        gtcrn_dsp_analyze(&dsp, hop, feat);
        gtcrn_quantize(feat, featq, GTCRN_FEAT_SIZE, GTCRN_FEAT_SCALE, GTCRN_FEAT_ZERO_POINT);
        for (k = 0; k < GTCRN_FEAT_SIZE; k++) {
            const float r = feat_ref[t * feat_size + k];
            const long d = labs((long)featq[k] - (long)featq_ref[t * feat_size + k]);
            feat_err = fmax(feat_err, fabs(feat[k] - r));
            feat_max = fmax(feat_max, fabs(r));
            q_diff += d != 0;
            if (d > q_maxlsb) q_maxlsb = d;
        }
        /* the interpreter's place: the int8 mask it produced for this frame in Python */
        gtcrn_dequantize_mask(mask_ref + t * mask_size, mask_re, mask_im, GTCRN_MASK_SCALE, GTCRN_MASK_ZERO_POINT);
        gtcrn_dsp_synthesize(&dsp, mask_re, mask_im, out + t * GTCRN_HOP);
    }
    const double feat_rel = feat_err / (feat_max > 0 ? feat_max : 1.0);
    const double share = (double)q_diff / ((double)n_frames * feat_size);
    printf("features: max abs error %.3g (max |feature| %.3g); int8 features differing: %ld of %lu\n",
           feat_err, feat_max, q_diff, (unsigned long)n_frames * feat_size);
    check(feat_rel <= FEAT_TOL, "features max error / max |feature|", feat_rel, FEAT_TOL);
    check(q_maxlsb <= QFEAT_MAX_LSB, "int8 features max difference (steps)", (double)q_maxlsb, QFEAT_MAX_LSB);
    check(share <= QFEAT_MAX_SHARE, "int8 features share differing", share, QFEAT_MAX_SHARE);

    double audio_err = 0, ref_peak = 0;
    for (k = 0; k < n_samples; k++) {
        const uint32_t j = k + front;
        const float y = j < n_frames * GTCRN_HOP ? out[j] : 0.0f;
        audio_err = fmax(audio_err, fabs(y - out_ref[k]));
        ref_peak = fmax(ref_peak, fabs(out_ref[k]));
    }
    printf("audio: %u samples, %u hops, max abs error %.3g (peak %.3g)\n", n_samples, n_frames, audio_err, ref_peak);
    check(audio_err <= AUDIO_TOL, "enhanced audio max abs error", audio_err, AUDIO_TOL);
    check(ref_peak > 0, "reference audio is not silent", ref_peak, 0);

    printf("%d passed, %d failed\n", n_pass, n_fail);
    free(wav), free(feat_ref), free(featq_ref), free(mask_ref), free(out_ref), free(out);
    return n_fail ? 1 : 0;
}
