/* GTCRN-Micro on the ESP32-S3: microphone -> enhancement -> amplifier, one 16 ms hop at a time.
 *
 *   I2S mic (HOP samples) -> gtcrn_dsp_analyze (frame, window, FFT, compression, ERB)
 *   -> gtcrn_quantize -> gtcrn_model_step (TFLM Invoke, int8 states fed back)
 *   -> gtcrn_dequantize_mask -> gtcrn_dsp_synthesize (ERB bs, mask, inverse FFT, overlap-add)
 *   -> I2S amp (HOP samples, delayed by N_FFT - HOP samples)
 *
 * With CONFIG_GTCRN_CYCLE_COUNTER=y (menuconfig: GTCRN-Micro) every stage is timed with the CPU
 * cycle counter and a line per GTCRN_REPORT_HOPS hops reports mean and worst cycles per hop.
 */
#include <stdint.h>
#include <stdio.h>

#include "audio_io.h"
#include "dsp.h"
#include "esp_log.h"
#include "model_runner.h"
#include "model_settings.h"
#include "sdkconfig.h"

#if CONFIG_GTCRN_CYCLE_COUNTER
#include "esp_cpu.h"
#define STAMP(v) uint32_t v = esp_cpu_get_cycle_count()
#else
#define STAMP(v)
#endif

static const char *TAG = "gtcrn";

static gtcrn_dsp_t s_dsp;
static float s_hop_in[GTCRN_HOP], s_hop_out[GTCRN_HOP], s_feat[GTCRN_FEAT_SIZE];
static float s_mask_re[GTCRN_N_BANDS], s_mask_im[GTCRN_N_BANDS];
static int8_t s_feat_q[GTCRN_FEAT_SIZE], s_mask_q[GTCRN_MASK_SIZE];

#if CONFIG_GTCRN_CYCLE_COUNTER
static void report(const uint64_t sum[3], const uint32_t worst[3], int hops) {
    const double mhz = CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ, budget_us = 1e6 * GTCRN_HOP / GTCRN_SAMPLE_RATE;
    const double total = (double)(sum[0] + sum[1] + sum[2]) / hops;
    printf("gtcrn cycles/hop: front %.0f, invoke %.0f, back %.0f; total %.0f = %.2f ms (%.0f%% of %.1f ms); "
           "worst invoke %lu\n", (double)sum[0] / hops, (double)sum[1] / hops, (double)sum[2] / hops, total,
           total / mhz / 1000.0, 100.0 * total / mhz / budget_us, budget_us / 1000.0, (unsigned long)worst[1]);
}
#endif

extern "C" void app_main(void) {
    if (gtcrn_model_init() != 0) {
        ESP_LOGE(TAG, "model init failed; stopping");
        return;
    }
    gtcrn_dsp_init(&s_dsp);
    ESP_ERROR_CHECK(audio_io_init());
    ESP_LOGI(TAG, "%d Hz, hop %d, n_fft %d: enhancing", GTCRN_SAMPLE_RATE, GTCRN_HOP, GTCRN_N_FFT);
#if CONFIG_GTCRN_CYCLE_COUNTER
    uint64_t sum[3] = {0, 0, 0};
    uint32_t worst[3] = {0, 0, 0};
    int hops = 0;
#endif
    for (;;) {
        if (audio_read_hop(s_hop_in) != ESP_OK) continue;
        STAMP(t0);
        gtcrn_dsp_analyze(&s_dsp, s_hop_in, s_feat);
        gtcrn_quantize(s_feat, s_feat_q, GTCRN_FEAT_SIZE, GTCRN_FEAT_SCALE, GTCRN_FEAT_ZERO_POINT);
        STAMP(t1);
        if (gtcrn_model_step(s_feat_q, s_mask_q) != 0) {
            ESP_LOGE(TAG, "Invoke failed");
            continue;
        }
        STAMP(t2);
        gtcrn_dequantize_mask(s_mask_q, s_mask_re, s_mask_im, GTCRN_MASK_SCALE, GTCRN_MASK_ZERO_POINT);
        gtcrn_dsp_synthesize(&s_dsp, s_mask_re, s_mask_im, s_hop_out);
        STAMP(t3);
        audio_write_hop(s_hop_out);
#if CONFIG_GTCRN_CYCLE_COUNTER
        const uint32_t d[3] = {t1 - t0, t2 - t1, t3 - t2}; /* unsigned: correct across counter wrap */
        for (int i = 0; i < 3; i++) {
            sum[i] += d[i];
            if (d[i] > worst[i]) worst[i] = d[i];
        }
        if (++hops == CONFIG_GTCRN_REPORT_HOPS) {
            report(sum, worst, hops);
            sum[0] = sum[1] = sum[2] = 0;
            worst[0] = worst[1] = worst[2] = 0;
            hops = 0;
        }
#endif
    }
}
