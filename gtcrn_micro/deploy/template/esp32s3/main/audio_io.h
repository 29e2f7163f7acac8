/* I2S microphone in, I2S amplifier out, one hop at a time (ESP-IDF 5 standard-mode I2S driver). */
#pragma once
#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mic (INMP441-style: 24 bits in a 32-bit slot, left channel) on I2S0, amp (MAX98357A-style:
 * 16-bit Philips I2S) on I2S1, both at GTCRN_SAMPLE_RATE; pins from menuconfig (Kconfig.projbuild). */
esp_err_t audio_io_init(void);
/* Block until GTCRN_HOP samples arrived; x in [-1, 1). */
esp_err_t audio_read_hop(float *x);
/* Write GTCRN_HOP samples (clipped to [-1, 1]); blocks while the DMA queue is full. */
esp_err_t audio_write_hop(const float *x);

#ifdef __cplusplus
}
#endif
