/* Exact evaluation of the losses in pieces, for images whose activations do
 * not fit the device (docs/large-pictures.md). The image is cut into tiles
 * whose interiors sit on the 16 px pooling grid; each tile runs the network
 * on its interior plus a halo as wide as the deepest layer's reach
 * (cs_net_reach), so the features of the interior are those of the whole
 * image. Pass 1 adds the interiors' Gram matrices into the whole image's;
 * pass 2 runs each tile forward and backward, injecting the loss gradients
 * at the interior only, and adds the tile's input gradient into the image's.
 * Every feature belongs to exactly one interior, so the sums are exact. */
#ifndef CS_EVAL_PIECES_H
#define CS_EVAL_PIECES_H
#include "evaluator.h"

extern const cs_eval_ops cs_eval_pieces;

/* The halo for layers up to node `last`: their reach rounded up to the grid. */
int cs_pieces_halo(const cs_weights *w, int last);
/* Number of tiles of an h x w image with tile interiors of `tile` px. */
int cs_pieces_count(int h, int w, int tile);

#endif
