/* The int8 streaming step under TensorFlow Lite Micro; see model_runner.h.
 *
 * State ping-pong: each state is an input and an output of the step with the same scale and zero
 * point. The arena's memory planner may place an output over a dead input, so outputs are first
 * copied into our own state buffer, and from there into the inputs before the next Invoke: the
 * int8 bytes travel unchanged, exactly as TFLiteStep.stream does in Python.
 */
#include "model_runner.h"

#include <string.h>

#include "esp_log.h"
#include "model_data.h"
#include "model_settings.h"
#include "op_resolver.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/schema/schema_generated.h"

static const char *TAG = "gtcrn_model";

alignas(16) static uint8_t s_arena[GTCRN_ARENA_BYTES];
static int8_t s_state[GTCRN_STATE_BYTES];
static tflite::MicroInterpreter *s_interpreter = nullptr;

static bool tensor_ok(const TfLiteTensor *t, const char *name, size_t bytes, float scale, int zero_point) {
    if (t == nullptr || t->type != kTfLiteInt8 || t->bytes != bytes || t->params.scale != scale ||
        t->params.zero_point != zero_point) {
        ESP_LOGE(TAG, "tensor %s does not match model_settings.h: regenerate the project", name);
        return false;
    }
    return true;
}

int gtcrn_model_init(void) {
    const tflite::Model *model = tflite::GetModel(g_gtcrn_model_data);
    if (model->version() != TFLITE_SCHEMA_VERSION) {
        ESP_LOGE(TAG, "model schema %lu, TFLM expects %d", (unsigned long)model->version(), TFLITE_SCHEMA_VERSION);
        return 1;
    }
    static GtcrnOpResolver resolver;
    if (gtcrn_register_ops(resolver) != kTfLiteOk) {
        ESP_LOGE(TAG, "registering the %d ops failed", GTCRN_NUM_OPS);
        return 1;
    }
    static tflite::MicroInterpreter interpreter(model, resolver, s_arena, GTCRN_ARENA_BYTES);
    if (interpreter.AllocateTensors() != kTfLiteOk) {
        ESP_LOGE(TAG, "AllocateTensors failed: arena of %d bytes too small?", GTCRN_ARENA_BYTES);
        return 1;
    }
    s_interpreter = &interpreter;
    if (interpreter.inputs_size() != GTCRN_NUM_INPUTS || interpreter.outputs_size() != GTCRN_NUM_OUTPUTS) {
        ESP_LOGE(TAG, "model has %u inputs / %u outputs, settings say %d / %d", (unsigned)interpreter.inputs_size(),
                 (unsigned)interpreter.outputs_size(), GTCRN_NUM_INPUTS, GTCRN_NUM_OUTPUTS);
        return 1;
    }
    bool ok = tensor_ok(interpreter.input(GTCRN_FEAT_INPUT_INDEX), "feat", GTCRN_FEAT_SIZE, GTCRN_FEAT_SCALE,
                        GTCRN_FEAT_ZERO_POINT) &&
              tensor_ok(interpreter.output(GTCRN_MASK_OUTPUT_INDEX), "mask", GTCRN_MASK_SIZE, GTCRN_MASK_SCALE,
                        GTCRN_MASK_ZERO_POINT);
    for (int i = 0; ok && i < GTCRN_NUM_STATES; i++) {
        const gtcrn_state_info_t *s = &kGtcrnStates[i];
        ok = tensor_ok(interpreter.input(s->input_index), s->name, s->size, s->scale, s->zero_point) &&
             tensor_ok(interpreter.output(s->output_index), s->name, s->size, s->scale, s->zero_point);
    }
    if (!ok) return 1;
    ESP_LOGI(TAG, "%s step: %d ops registered, arena %u of %d bytes used, %d states (%d bytes)", GTCRN_MODEL_NAME,
             GTCRN_NUM_OPS, (unsigned)interpreter.arena_used_bytes(), GTCRN_ARENA_BYTES, GTCRN_NUM_STATES,
             GTCRN_STATE_BYTES);
    gtcrn_model_reset();
    return 0;
}

void gtcrn_model_reset(void) {
    for (int i = 0; i < GTCRN_NUM_STATES; i++) {
        memset(s_state + kGtcrnStates[i].offset, kGtcrnStates[i].zero_point, kGtcrnStates[i].size);
    }
}

int gtcrn_model_step(const int8_t *feat_q, int8_t *mask_q) {
    tflite::MicroInterpreter &it = *s_interpreter;
    memcpy(it.input(GTCRN_FEAT_INPUT_INDEX)->data.int8, feat_q, GTCRN_FEAT_SIZE);
    for (int i = 0; i < GTCRN_NUM_STATES; i++) {
        const gtcrn_state_info_t *s = &kGtcrnStates[i];
        memcpy(it.input(s->input_index)->data.int8, s_state + s->offset, s->size);
    }
    if (it.Invoke() != kTfLiteOk) return 1;
    memcpy(mask_q, it.output(GTCRN_MASK_OUTPUT_INDEX)->data.int8, GTCRN_MASK_SIZE);
    for (int i = 0; i < GTCRN_NUM_STATES; i++) {
        const gtcrn_state_info_t *s = &kGtcrnStates[i];
        memcpy(s_state + s->offset, it.output(s->output_index)->data.int8, s->size);
    }
    return 0;
}

size_t gtcrn_model_arena_used(void) { return s_interpreter ? s_interpreter->arena_used_bytes() : 0; }
