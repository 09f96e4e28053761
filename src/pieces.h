/* Exact evaluation of the losses in pieces, for images whose activations do
 * not fit the device (see README "Large pictures"). The image is cut into
 * tiles whose interiors sit on the 16 px pooling grid; each tile runs the
 * network on its interior plus a halo as wide as the deepest layer's reach
 * (cs_net_reach), so the features of the interior are those of the whole
 * image. Pass 1 adds the interiors' Gram matrices into the whole image's;
 * pass 2 runs each tile forward and backward, injecting the loss gradients
 * at the interior only, and adds the tile's input gradient into the image's.
 * Every feature belongs to exactly one interior, so the sums are exact. */
#ifndef CS_PIECES_H
#define CS_PIECES_H
#include "loss.h"

/* The halo for layers up to node `last`: their reach rounded up to the grid. */
int cs_pieces_halo(const cs_weights *w, int last);
/* The halo for the layers a job's options name. */
int cs_pieces_halo_for(const cs_weights *w, const clstyle_options *o);
/* Number of tiles of an h x w image with tile interiors of `tile` px. */
int cs_pieces_count(int h, int w, int tile);

/* Part of cs_loss_init for L->tile > 0: activations for one piece, the style
 * targets and the content targets (kept on the host), all computed in pieces.
 * Images without pixels size the job only (on the null backend). */
clstyle_status cs_pieces_init(cs_loss *L, cs_net *net, const int *tapped, int last, cs_loss_image content,
                              const cs_loss_image *styles, const double *blend, int n_styles);
void cs_pieces_free(cs_loss *L);
/* cs_loss_eval in pieces: sets the layers' raw sums and L->tv; grad is overwritten. */
clstyle_status cs_pieces_eval(cs_loss *L, cs_buf *x, cs_buf *grad);

#endif
