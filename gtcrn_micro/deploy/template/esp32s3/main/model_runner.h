/* The int8 streaming step under TensorFlow Lite Micro, with its state fed back between hops. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Load the embedded model, register its ops, allocate the arena, check every tensor against
 * model_settings.h, and reset the state. Returns 0 on success (and logs why not otherwise). */
int gtcrn_model_init(void);
/* Every state back to its zero point (the float zero state). */
void gtcrn_model_reset(void);
/* One hop: int8 features (GTCRN_FEAT_SIZE) in, raw int8 mask (GTCRN_MASK_SIZE) out. 0 on success. */
int gtcrn_model_step(const int8_t *feat_q, int8_t *mask_q);
/* Bytes of the arena the interpreter actually used (after gtcrn_model_init). */
size_t gtcrn_model_arena_used(void);

#ifdef __cplusplus
}
#endif
