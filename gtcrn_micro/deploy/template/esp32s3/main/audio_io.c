/* I2S microphone in, I2S amplifier out; see audio_io.h. */
#include "audio_io.h"

#include <stdbool.h>
#include <stdint.h>

#include "driver/i2s_std.h"
#include "freertos/FreeRTOS.h"
#include "model_settings.h"
#include "sdkconfig.h"

static i2s_chan_handle_t s_rx, s_tx;
static int32_t s_rx_buf[GTCRN_HOP];
static int16_t s_tx_buf[GTCRN_HOP];

/* One standard-mode (Philips) I2S channel, mono, master clock; rx: the microphone, else the amplifier. */
static i2s_chan_handle_t open_channel(i2s_port_t port, bool rx, i2s_data_bit_width_t bits, gpio_num_t bclk,
                                      gpio_num_t ws, gpio_num_t dout, gpio_num_t din) {
    i2s_chan_handle_t handle = NULL;
    i2s_chan_config_t chan = I2S_CHANNEL_DEFAULT_CONFIG(port, I2S_ROLE_MASTER);
    ESP_ERROR_CHECK(i2s_new_channel(&chan, rx ? NULL : &handle, rx ? &handle : NULL));
    i2s_std_config_t cfg = {
        .clk_cfg = I2S_STD_CLK_DEFAULT_CONFIG(GTCRN_SAMPLE_RATE),
        .slot_cfg = I2S_STD_PHILIPS_SLOT_DEFAULT_CONFIG(bits, I2S_SLOT_MODE_MONO),
        .gpio_cfg = {
            .mclk = I2S_GPIO_UNUSED,
            .bclk = bclk,
            .ws = ws,
            .dout = dout,
            .din = din,
            .invert_flags = {.mclk_inv = false, .bclk_inv = false, .ws_inv = false},
        },
    };
    if (rx) cfg.slot_cfg.slot_mask = I2S_STD_SLOT_LEFT; /* the mic's L/R pin tied to GND */
    ESP_ERROR_CHECK(i2s_channel_init_std_mode(handle, &cfg));
    return handle;
}

esp_err_t audio_io_init(void) {
    s_rx = open_channel(I2S_NUM_0, true, I2S_DATA_BIT_WIDTH_32BIT, CONFIG_GTCRN_MIC_BCLK_GPIO,
                        CONFIG_GTCRN_MIC_WS_GPIO, I2S_GPIO_UNUSED, CONFIG_GTCRN_MIC_DIN_GPIO);
    s_tx = open_channel(I2S_NUM_1, false, I2S_DATA_BIT_WIDTH_16BIT, CONFIG_GTCRN_AMP_BCLK_GPIO,
                        CONFIG_GTCRN_AMP_WS_GPIO, CONFIG_GTCRN_AMP_DOUT_GPIO, I2S_GPIO_UNUSED);
    ESP_ERROR_CHECK(i2s_channel_enable(s_rx));
    ESP_ERROR_CHECK(i2s_channel_enable(s_tx));
    return ESP_OK;
}

esp_err_t audio_read_hop(float *x) {
    size_t got = 0;
    esp_err_t err = i2s_channel_read(s_rx, s_rx_buf, sizeof(s_rx_buf), &got, portMAX_DELAY);
    if (err != ESP_OK) return err;
    const float scale = (float)(1 << CONFIG_GTCRN_MIC_GAIN_SHIFT) / 2147483648.0f; /* 32-bit slot -> [-1, 1) */
    for (int i = 0; i < GTCRN_HOP; i++) {
        float v = (float)(s_rx_buf[i] & ~0xFF) * scale; /* 24 valid bits, left-justified */
        x[i] = v > 1.0f ? 1.0f : (v < -1.0f ? -1.0f : v);
    }
    return ESP_OK;
}

esp_err_t audio_write_hop(const float *x) {
    for (int i = 0; i < GTCRN_HOP; i++) {
        float v = x[i] * 32767.0f;
        s_tx_buf[i] = (int16_t)(v > 32767.0f ? 32767.0f : (v < -32768.0f ? -32768.0f : v));
    }
    size_t done = 0;
    return i2s_channel_write(s_tx, s_tx_buf, sizeof(s_tx_buf), &done, portMAX_DELAY);
}
