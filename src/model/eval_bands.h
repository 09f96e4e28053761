/* Exact evaluation of the losses layer by layer in bands, for pictures
 * whose activations do not fit the device (docs/large-pictures.md). Every
 * activation and gradient of the picture lives on the host; each layer runs
 * over the picture in bands of rows, a band and its halo of one row per
 * side (the 3x3 convolution's reach) on the device at a time. The Gram
 * matrices add up over the bands of the forward pass; the backward pass goes
 * the same way in reverse, each layer's gradient complete on the host before
 * the next. Device memory follows the band, not the picture; the extra work
 * is the transfers and two rows per band and convolution. */
#ifndef CS_EVAL_BANDS_H
#define CS_EVAL_BANDS_H
#include "evaluator.h"

extern const cs_eval_ops cs_eval_bands;

#endif
