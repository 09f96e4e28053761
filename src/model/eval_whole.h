/* The loss evaluated on the whole picture at once: one set of activations
 * the picture's size, the content targets on the device. */
#ifndef CS_EVAL_WHOLE_H
#define CS_EVAL_WHOLE_H
#include "evaluator.h"

extern const cs_eval_ops cs_eval_whole;

#endif
