/* GTCRN-Micro audio front and back end in portable C99 (chapter 6 of the book).
 *
 * Mirrors gtcrn_micro.audio (stft.py, features.py, erb.py) and MicroGTCRN.features/apply_mask,
 * one hop at a time:
 *
 *   hop_in (HOP samples) -> frame = [previous HOP | hop_in] -> x sqrt-Hann -> real FFT (N_FFT)
 *   -> S (N_FREQS bins) -> compress |S|^c (phase kept) -> [|Sc|, Re Sc, Im Sc] -> ERB bm -> feat (3 x N_BANDS)
 *   mask (2 x N_BANDS) -> ERB bs -> (N_FREQS) -> complex multiply with S -> inverse real FFT
 *   -> x sqrt-Hann -> overlap-add -> hop_out (HOP samples)
 *
 * hop_out is the input delayed by N_FFT - HOP samples (the STFT's front padding): the first
 * output hop after a reset is the padding region. All numbers come from model_settings.h and
 * erb_tables.h, generated from the Python config; nothing here is hand-kept.
 */
#ifndef GTCRN_DSP_H
#define GTCRN_DSP_H

#include <stdint.h>

#include "model_settings.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    float frame[GTCRN_N_FFT];      /* last N_FFT input samples (analysis frame) */
    float ola[GTCRN_N_FFT];        /* overlap-add accumulator of the synthesis side */
    float spec_re[GTCRN_N_FREQS];  /* spectrum of the current frame, kept for the mask */
    float spec_im[GTCRN_N_FREQS];
    float work[GTCRN_N_FFT];       /* FFT scratch (N_FFT/2 interleaved complex values) */
    float buf[GTCRN_N_FFT];        /* windowed frame */
    float chan[3][GTCRN_N_FREQS];  /* per-bin features, then the mask spread back over the bins */
} gtcrn_dsp_t;

/* Twiddle tables; called by gtcrn_dsp_init (idempotent). */
void gtcrn_fft_init(void);
/* Real FFT: x (N_FFT) -> re, im (N_FREQS). work: N_FFT floats of scratch. */
void gtcrn_rfft(const float *x, float *re, float *im, float *work);
/* Inverse real FFT (the imaginary parts of DC and Nyquist are ignored): re, im -> x (N_FFT). */
void gtcrn_irfft(const float *re, const float *im, float *x, float *work);

/* Zero the stream (frames, overlap-add). */
void gtcrn_dsp_init(gtcrn_dsp_t *d);
/* One hop in: feat[c * N_BANDS + b] (c = |S|^c, Re, Im), the layout of the (1,3,1,N_BANDS) input. */
void gtcrn_dsp_analyze(gtcrn_dsp_t *d, const float *hop_in, float *feat);
/* ERB band merging of one spectrum-like channel: x (N_FREQS) -> y (N_BANDS). */
void gtcrn_erb_bm(const float *x, float *y);
/* ERB band splitting: x (N_BANDS) -> y (N_FREQS). */
void gtcrn_erb_bs(const float *x, float *y);
/* q = clamp(round_half_even(x / scale) + zero_point, -128, 127), as the host runtime quantizes. */
void gtcrn_quantize(const float *x, int8_t *q, int n, float scale, int zero_point);
/* Raw int8 mask tensor -> mask_re, mask_im (N_BANDS each), in the tensor's layout (GTCRN_MASK_NHWC). */
void gtcrn_dequantize_mask(const int8_t *q, float *mask_re, float *mask_im, float scale, int zero_point);
/* Apply the mask to the kept spectrum, inverse FFT, overlap-add: one hop of output. */
void gtcrn_dsp_synthesize(gtcrn_dsp_t *d, const float *mask_re, const float *mask_im, float *hop_out);

#ifdef __cplusplus
}
#endif

#endif /* GTCRN_DSP_H */
